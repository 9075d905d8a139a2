"""STL-10 (Coates et al. 2011) from its binary files, resized once (64 x 64 by default) and cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor

from datamodules.images import CachedImageDataModule, file_fingerprint

STL10_FOLDER = "stl10_binary"
STORED_SIZE = 96
IMAGE_BYTES = 3 * STORED_SIZE * STORED_SIZE
LABELLED_FILES = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
UNLABELLED_FILE = "unlabeled_X.bin"
RESIZE_CHUNK = 2048


def resize_uint8_into(images: np.ndarray, out: Tensor) -> None:
    """Write uint8 (N, C, H, W) ``images`` into uint8 ``out`` (N, C, S, S): bilinear with antialiasing,
    rounded; in chunks, so a memory-mapped file is never copied whole."""
    size = out.shape[-1]
    for start in range(0, len(images), RESIZE_CHUNK):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + RESIZE_CHUNK]))
        if size != chunk.shape[-1]:
            resized = F.interpolate(
                chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
            chunk = resized.round_().clamp_(0, 255).to(torch.uint8)
        out[start : start + len(chunk)] = chunk


class STL10(CachedImageDataModule):
    """STL-10, 3 x S x S RGB in [-1, 1]; the 96 x 96 images resized to ``image_size`` (default 64).

    IVGAN (ivgan.txt §4) trains on STL-10 resized to 64 x 64 (``image_size=48`` is the other usual
    choice, 96 keeps the stored size). Resizing is bilinear with antialiasing, done once; the resized
    uint8 splits are cached in ``stl10_binary/zoo_cache/`` (105,000 x 3 x 64 x 64 = 1.3 GB).

    Read from the binary distribution ``<data_dir>/stl10_binary/``: ``{train,test,unlabeled}_X.bin``
    (uint8, each image 3 x 96 x 96 stored channel by channel in column-major order) and
    ``{train,test}_y.bin`` (one uint8 label 1..10 per image). ``download=True`` fetches and unpacks the
    2.6 GB archive with torchvision in ``prepare_data``; offline, a missing file stops with a message.

    Splits: train = the 5,000 labelled training images followed by the 100,000 unlabelled ones
    (``unlabeled=False``: the labelled ones only); val = test = the 8,000 test images. Labels 0..9,
    -1 for unlabelled images.

    Args:
        data_dir: Folder that holds ``stl10_binary/``.
        image_size: Side length of the served images (64 IVGAN, 48, or 96 = stored).
        unlabeled: Add the 100,000 unlabelled images to the training split.
        batch_size: Samples per batch.
        download: Download the archive in ``prepare_data`` when files are missing.
        seed: Seed of the training-set shuffling.
        device: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, or a device like ``"cuda:1"``.
        cache: Save the resized splits and reuse them (not needed at 96 x 96: nothing to compute).
        cache_dir: Folder of the cache files instead of ``stl10_binary/zoo_cache``.
    """

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 64,
        unlabeled: bool = True,
        batch_size: int = 100,
        download: bool = True,
        seed: int = 0,
        device: str = "auto",
        cache: bool = True,
        cache_dir: str | None = None,
    ) -> None:
        if isinstance(image_size, int) and image_size > STORED_SIZE:
            raise ValueError(f"image_size must be at most {STORED_SIZE} (the stored size), got {image_size}")
        super().__init__(
            data_dir=data_dir,
            image_size=image_size,
            batch_size=batch_size,
            seed=seed,
            device=device,
            cache=cache and image_size != STORED_SIZE,
            cache_dir=cache_dir,
            decode_workers=0,
        )
        self.unlabeled = unlabeled
        self.download = download
        self.save_hyperparameters()

    @property
    def files_dir(self) -> Path:
        return Path(self.data_dir).absolute() / STL10_FOLDER

    def required_files(self) -> list[str]:
        return [*LABELLED_FILES, *([UNLABELLED_FILE] if self.unlabeled else [])]

    def how_to_get_files(self) -> str:
        dataset = torchvision.datasets.STL10
        return (
            f"run once with --data.download true on a machine with internet access, or download {dataset.url} "
            f"and extract it in {Path(self.data_dir).absolute()} (it unpacks to {STL10_FOLDER}/)"
        )

    def ensure_files(self) -> None:
        if not self.missing_files():
            return
        if not self.download:
            raise self.not_found_error()
        dataset = torchvision.datasets.STL10
        try:
            torchvision.datasets.utils.download_and_extract_archive(
                dataset.url, str(Path(self.data_dir).absolute()), filename=dataset.filename, md5=dataset.tgz_md5
            )
        except (OSError, RuntimeError) as error:  # URLError is an OSError
            raise self.not_found_error(download_failure=error) from None
        if self.missing_files():
            raise self.not_found_error()

    def cache_tag(self) -> str:
        return f"{self.image_size}{'-unlabeled' if self.unlabeled else ''}"

    def _split_files(self, split: str) -> list[tuple[str, str | None]]:
        """(images file, labels file or None) pairs of a split, in order."""
        if split == "train":
            return [("train_X.bin", "train_y.bin"), *([(UNLABELLED_FILE, None)] if self.unlabeled else [])]
        return [("test_X.bin", "test_y.bin")]

    def source_fingerprint(self, split: str) -> str:
        names = [name for pair in self._split_files(split) for name in pair if name is not None]
        return f"{split}:{file_fingerprint(self.files_dir / name for name in names)}"

    def _read_images(self, name: str) -> np.ndarray:
        path = self.files_dir / name
        size = path.stat().st_size
        if size == 0 or size % IMAGE_BYTES:
            raise self.corrupt_error(
                str(path), f"{size} bytes, not a whole number of {IMAGE_BYTES}-byte 3 x 96 x 96 images"
            )
        raw = np.memmap(path, dtype=np.uint8, mode="r").reshape(-1, 3, STORED_SIZE, STORED_SIZE)
        return raw.transpose(0, 1, 3, 2)  # column-major on disk: (N, C, W, H) -> (N, C, H, W)

    def _read_labels(self, name: str, count: int) -> Tensor:
        path = self.files_dir / name
        labels = np.fromfile(path, dtype=np.uint8)
        if len(labels) != count:
            raise self.corrupt_error(str(path), f"{len(labels)} labels for {count} images")
        if len(labels) and not (labels.min() >= 1 and labels.max() <= 10):
            raise self.corrupt_error(str(path), f"labels outside 1..10 (found {labels.min()}..{labels.max()})")
        return torch.from_numpy(labels.astype(np.int64) - 1)

    def build_split(self, split: str) -> tuple[Tensor, Tensor]:
        parts = [(self._read_images(images_name), labels_name) for images_name, labels_name in self._split_files(split)]
        images = torch.empty((sum(len(raw) for raw, _ in parts), *self.image_shape), dtype=torch.uint8)
        labels, start = [], 0
        for raw, labels_name in parts:
            resize_uint8_into(raw, images[start : start + len(raw)])
            start += len(raw)
            if labels_name is None:
                labels.append(torch.full((len(raw),), -1, dtype=torch.int64))
            else:
                labels.append(self._read_labels(labels_name, len(raw)))
        return images, torch.cat(labels)
