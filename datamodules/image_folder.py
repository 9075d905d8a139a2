"""Any folder of images (searched recursively), center-cropped, resized, decoded once and cached."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import Tensor

from datamodules.base import DataNotFoundError
from datamodules.images import IMAGE_EXTENSIONS, CachedImageDataModule, decode_with_errors

CACHE_FOLDER = ".zoo_cache"


class ImageFolder(CachedImageDataModule):
    """Your own images: every image file under ``data_dir`` (recursively), C x S x S in [-1, 1].

    Files ending in .jpg, .jpeg, .png, .bmp, .gif, .ppm, .pgm, .tif, .tiff or .webp (any case) are
    read; hidden files and folders (names starting with ``.``) are skipped. Each image is converted to
    RGB (``channels=3``) or grayscale (``channels=1``), its centered ``crop`` x ``crop`` square (the
    largest centered square when ``crop`` is None, i.e. "resize the shorter side, then center crop") is
    resized to ``image_size`` with antialiasing. The images are decoded once (in ``decode_workers``
    processes) and cached as uint8 in ``<data_dir>/.zoo_cache/``; adding, removing or touching an image
    rebuilds the cache.

    Labels, as torchvision's ``ImageFolder``: the index of the image's top-level subfolder in sorted
    order (names in :attr:`class_names`); images directly in ``data_dir`` get -1.

    Splits: a fixed, seed-independent ``val_fraction`` of the images (at least one when the fraction is
    positive and there are two images or more) is held out as val = test; the rest is train. With
    ``val_fraction=0`` val = train.

    Args:
        data_dir: The folder of images.
        image_size: Side length of the served images.
        crop: Side of the centered square cut before resizing; None: the shorter side.
        channels: 3 (RGB) or 1 (grayscale).
        val_fraction: Share of the images held out for validation, in [0, 1).
        batch_size: Samples per batch.
        seed: Seed of the training-set shuffling.
        device: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, or a device like ``"cuda:1"``.
        cache: Save the decoded splits in ``<data_dir>/.zoo_cache`` and reuse them.
        cache_dir: Folder of the cache files instead.
        decode_workers: Processes decoding images while a cache is built; None: one per CPU.
    """

    def __init__(
        self,
        data_dir: str,
        image_size: int = 64,
        crop: int | None = None,
        channels: int = 3,
        val_fraction: float = 0.05,
        batch_size: int = 64,
        seed: int = 0,
        device: str = "auto",
        cache: bool = True,
        cache_dir: str | None = None,
        decode_workers: int | None = None,
    ) -> None:
        super().__init__(
            data_dir=data_dir,
            image_size=image_size,
            batch_size=batch_size,
            seed=seed,
            device=device,
            cache=cache,
            cache_dir=cache_dir,
            decode_workers=decode_workers,
        )
        if crop is not None and (not isinstance(crop, int) or crop <= 0):
            raise ValueError(f"crop must be a positive integer or None, got {crop!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.crop = crop
        self.channels = channels
        self.val_fraction = val_fraction
        self.class_names: list[str] = []
        self._files: list[tuple[str, os.stat_result]] | None = None
        self.save_hyperparameters()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    @property
    def files_dir(self) -> Path:
        return Path(self.data_dir).absolute()

    def cache_path(self, split: str) -> Path:
        path = super().cache_path(split)
        return path if self.cache_dir else self.files_dir / CACHE_FOLDER / path.name

    def required_files(self) -> list[str]:
        return []

    def how_to_get_files(self) -> str:
        return (
            f"point --data.data_dir at a folder that holds images ({', '.join(IMAGE_EXTENSIONS)}), "
            "directly or in subfolders"
        )

    def ensure_files(self) -> None:
        if not self.files_dir.is_dir():
            raise DataNotFoundError(
                f"ImageFolder: the folder {self.files_dir} does not exist. To fix: {self.how_to_get_files()}"
            )
        if not self.image_files():
            raise DataNotFoundError(
                f"ImageFolder found no images in {self.files_dir} or its subfolders (searched recursively for "
                f"{', '.join(IMAGE_EXTENSIONS)}; hidden folders skipped). To fix: {self.how_to_get_files()}"
            )

    def image_files(self) -> list[tuple[str, os.stat_result]]:
        """(path relative to ``data_dir`` with ``/`` separators, stat) of every image, sorted by path."""
        if self._files is None:
            found = []
            for folder, subfolders, names in os.walk(self.files_dir, followlinks=True):
                subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
                for name in names:
                    if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                        path = Path(folder) / name
                        found.append((path.relative_to(self.files_dir).as_posix(), path.stat()))
            self._files = sorted(found)
        return self._files

    def num_val(self) -> int:
        """Images held out for validation."""
        count = len(self.image_files())
        if self.val_fraction == 0 or count < 2:
            return 0
        return min(max(1, round(self.val_fraction * count)), count - 1)

    def split_files(self, split: str) -> list[str]:
        """Relative paths of the images of ``split``: a fixed pseudo-random held-out share is val."""
        names = [name for name, _ in self.image_files()]
        num_val = self.num_val()
        if num_val == 0:
            return names
        order = torch.randperm(len(names), generator=torch.Generator().manual_seed(0)).tolist()
        held_out = set(order[:num_val])
        return [name for index, name in enumerate(names) if (index in held_out) == (split != "train")]

    def _load_split(self, split: str) -> tuple[Tensor, Tensor]:
        if split != "train" and self.num_val() == 0 and "train" in self.splits:
            return self.splits["train"]  # val = train: the same tensors, not a second copy
        return super()._load_split(split)

    def cache_tag(self) -> str:
        crop = "square" if self.crop is None else f"crop{self.crop}"
        return f"{crop}-{self.image_size}-{'rgb' if self.channels == 3 else 'gray'}-val{self.val_fraction:g}"

    def source_fingerprint(self, split: str) -> str:
        digest = hashlib.sha1(split.encode())
        for name, stat in self.image_files():
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def _update_class_names(self) -> None:
        self.class_names = sorted({name.split("/", 1)[0] for name, _ in self.image_files() if "/" in name})

    def build_split(self, split: str) -> tuple[Tensor, Tensor]:
        self._update_class_names()
        class_index = {name: index for index, name in enumerate(self.class_names)}
        names = self.split_files(split)
        labels = torch.tensor([class_index[name.split("/", 1)[0]] if "/" in name else -1 for name in names])
        images = decode_with_errors(
            self,
            ((str(self.files_dir / name), name) for name in names),
            count=len(names),
            crop=self.crop,
            mode="RGB" if self.channels == 3 else "L",
            description=f"{split} images of {self.files_dir}",
            where=lambda name: str(self.files_dir / name),
        )
        return images, labels.to(torch.int64)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        self._update_class_names()
