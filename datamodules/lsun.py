"""LSUN scenes (Yu et al. 2015) from the official LMDB distribution, decoded once, resized and cached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from datamodules.base import MissingExtraError
from datamodules.images import CachedImageDataModule, decode_with_errors, file_fingerprint

#: The ten LSUN scene categories (each has a train and a val LMDB).
SCENE_CATEGORIES = (
    "bedroom",
    "bridge",
    "church_outdoor",
    "classroom",
    "conference_room",
    "dining_room",
    "kitchen",
    "living_room",
    "restaurant",
    "tower",
)
DOWNLOAD_SCRIPT = "https://github.com/fyu/lsun (python download.py -c CATEGORY)"


def import_lmdb():
    try:
        import lmdb
    except ImportError:  # an optional extra: only LSUN needs it
        raise MissingExtraError("LSUN is read with the lmdb package, the zoo's optional extra 'lsun': "
                                "pip install 'gan-zoo[lsun]' (or pip install lmdb)") from None
    return lmdb


class LSUN(CachedImageDataModule):
    """One LSUN scene category, 3 x S x S RGB in [-1, 1] (default church_outdoor at 64 x 64, IVGAN §4).

    Read with the ``lmdb`` package from the official distribution: ``<data_dir>/<category>_train_lmdb/``
    and ``<data_dir>/<category>_val_lmdb/`` (each with ``data.mdb``; values are the encoded images,
    WebP or JPEG, keys their ids), as unzipped from the files of the LSUN download script. LSUN is not
    downloaded automatically (tens of GB for some categories).

    Preprocessing, as DCGAN/IVGAN's ``Resize(64) + CenterCrop(64)``: the largest centered square
    (i.e. the shorter side), resized to ``image_size`` with antialiasing. The images are decoded once
    (in ``decode_workers`` processes) and cached as uint8 in ``zoo_cache/`` next to the LMDB folders:
    church_outdoor (126,227 train images) takes 1.6 GB at 64 x 64. For the big categories (bedroom:
    3,033,042 images, 37 GB at 64 x 64) take a subset with ``max_images``, as most GAN papers do.

    Splits: train = the category's train LMDB (its first ``max_images`` entries in key order when
    given); val = test = its val LMDB (300 images). There are no labels: -1.

    Args:
        data_dir: Folder holding the ``<category>_{train,val}_lmdb`` folders.
        category: A scene category: bedroom, bridge, church_outdoor, classroom, conference_room,
            dining_room, kitchen, living_room, restaurant, tower.
        image_size: Side length of the served images.
        max_images: Use only the first ``max_images`` training images; None: all of them.
        batch_size: Samples per batch.
        seed: Seed of the training-set shuffling.
        device: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, or a device like ``"cuda:1"``.
        cache: Save the decoded splits next to the data and reuse them.
        cache_dir: Folder of the cache files instead of ``<data_dir>/zoo_cache``.
        decode_workers: Processes decoding images while a cache is built; None: one per CPU.
    """

    def __init__(
        self,
        data_dir: str = "data",
        category: str = "church_outdoor",
        image_size: int = 64,
        max_images: int | None = None,
        batch_size: int = 100,
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
        if category not in SCENE_CATEGORIES:
            raise ValueError(
                f"unknown LSUN category {category!r}; the scene categories are {', '.join(SCENE_CATEGORIES)}"
            )
        if max_images is not None and max_images <= 0:
            raise ValueError(f"max_images must be a positive integer or None, got {max_images}")
        self.category = category
        self.max_images = max_images
        self.save_hyperparameters()

    @property
    def files_dir(self) -> Path:
        return Path(self.data_dir).absolute()

    def lmdb_dir(self, split: str) -> Path:
        return self.files_dir / f"{self.category}_{'train' if split == 'train' else 'val'}_lmdb"

    def required_files(self) -> list[str]:
        return [f"{self.lmdb_dir(split).name}/data.mdb" for split in ("train", "val")]

    def how_to_get_files(self) -> str:
        return (
            f"download {self.category}_train_lmdb.zip and {self.category}_val_lmdb.zip with the LSUN script "
            f"{DOWNLOAD_SCRIPT.replace('CATEGORY', self.category)} and unzip both in {self.files_dir}"
        )

    def cache_tag(self) -> str:
        return f"{self.category}-{self.image_size}{'' if self.max_images is None else f'-first{self.max_images}'}"

    def source_fingerprint(self, split: str) -> str:
        return f"{split}:{file_fingerprint([self.lmdb_dir(split) / 'data.mdb'])}"

    def build_split(self, split: str) -> tuple[Tensor, Tensor]:
        lmdb = import_lmdb()
        folder = self.lmdb_dir(split)
        try:
            environment = lmdb.open(str(folder), readonly=True, lock=False, readahead=False, meminit=False)
        except lmdb.Error as error:
            raise self.corrupt_error(f"the LMDB {folder / 'data.mdb'}", f"{type(error).__name__}: {error}") from None
        try:
            with environment.begin(write=False) as transaction:
                count = transaction.stat()["entries"]
                if split == "train" and self.max_images is not None:
                    count = min(count, self.max_images)

                def records() -> Iterator[tuple[bytes, str]]:
                    cursor = transaction.cursor()
                    for index, (key, value) in enumerate(cursor.iternext(keys=True, values=True)):
                        if index == count:
                            return
                        yield bytes(value), key.decode("ascii", errors="replace")

                images = decode_with_errors(
                    self,
                    records(),
                    count=count,
                    crop=None,
                    description=f"LSUN {self.category} {split} images",
                    where=lambda key: f"with key {key} in {folder / 'data.mdb'}",
                )
        except lmdb.Error as error:
            raise self.corrupt_error(f"the LMDB {folder / 'data.mdb'}", f"{type(error).__name__}: {error}") from None
        finally:
            environment.close()
        return images, torch.full((len(images),), -1, dtype=torch.int64)
