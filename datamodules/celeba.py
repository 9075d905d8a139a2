"""CelebA (Liu et al. 2015), aligned and cropped faces, center-cropped and resized, decoded once and cached."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor

from datamodules.base import DataCorruptError
from datamodules.images import CachedImageDataModule, decode_with_errors, file_fingerprint

IMAGE_FOLDER = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
ATTRIBUTE_FILE = "list_attr_celeba.txt"
#: Official partition codes in list_eval_partition.txt.
PARTITION_CODES = {"train": 0, "val": 1, "test": 2}
#: Size of the aligned-and-cropped images (width x height).
ALIGNED_WIDTH, ALIGNED_HEIGHT = 178, 218
NUM_ATTRIBUTES = 40
DOWNLOAD_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"

_SPLIT_TOKENS = re.compile(r"[,\s]+")


def read_listing(path: Path, min_values: int) -> tuple[list[str], list[list[int]]]:
    """Rows ``<image file> <int> <int> ...`` of a CelebA annotation file, in file order.

    Reads the official space-separated ``.txt`` files and the comma-separated ``.csv`` copies (Kaggle);
    header lines (a count, column names) are skipped because their first field is not an image file.
    """
    names, rows = [], []
    with path.open(encoding="utf-8", errors="replace") as file:
        for line_number, line in enumerate(file, start=1):
            fields = [field for field in _SPLIT_TOKENS.split(line.strip()) if field]
            if not fields or not fields[0].lower().endswith((".jpg", ".png")):
                continue
            try:
                values = [int(field) for field in fields[1:]]
            except ValueError:
                values = []
            if len(values) < min_values:
                raise DataCorruptError(
                    f"CelebA: {path} line {line_number} has no {min_values} integer column(s) after the file "
                    "name; the file is probably truncated or not the original one. Download it again from "
                    f"{DOWNLOAD_PAGE}"
                )
            names.append(fields[0])
            rows.append(values)
    return names, rows


class CelebA(CachedImageDataModule):
    """CelebA faces, 3 x S x S RGB in [-1, 1]: a centered ``crop`` x ``crop`` square of the 178 x 218
    aligned images, resized to ``image_size`` (default 64).

    Preprocessing: IVAAE (ivaae.txt §4, "CelebA") crops the central 140 x 140 pixels and resizes to
    64 x 64 (the default); AIM (aim.txt App. C, "center cropped CelebA images" to 64 x 64) is usually
    run with the 160 x 160 crop of ALI/ALICE: ``--data.crop 160``. Resizing is PIL bilinear with
    antialiasing (see :mod:`datamodules.images`).

    Files (torchvision's ``CelebA`` layout): ``<data_dir>/celeba/`` (or ``data_dir`` itself when it
    holds them) with ``img_align_celeba/`` (202,599 JPEGs), ``list_eval_partition.txt`` and
    ``list_attr_celeba.txt`` (the Kaggle ``.csv`` copies work too). CelebA is not downloaded
    automatically (Google-Drive quotas make it unreliable); a missing file stops with a message that
    names the files, the folder and where to get them.

    Memory: the images are decoded once (in ``decode_workers`` processes; a few minutes) and held as
    uint8 at the served size: 202,599 x 3 x 64 x 64 = 2.5 GB, saved as ``.pt`` cache files in
    ``<files>/zoo_cache/`` so that later runs load them in seconds. On a GPU (``device="auto"``) the
    whole tensor is moved there once when it takes at most a quarter of the GPU's memory.

    Splits: the official partition: train 162,770, val 19,867, test 19,962 images. Labels: the 40
    binary attributes (0/1, int64, shape (N, 40)) in ``list_attr_celeba.txt`` column order; their
    names are in :attr:`attribute_names` after ``setup``.

    Args:
        data_dir: Folder holding ``celeba/`` (or the ``celeba`` folder itself).
        image_size: Side length of the served images.
        crop: Side of the centered square cut from the 178 x 218 images before resizing (140 IVAAE,
            160 AIM/ALI).
        batch_size: Samples per batch.
        seed: Seed of the training-set shuffling.
        device: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, or a device like ``"cuda:1"``.
        cache: Save the decoded splits next to the data and reuse them.
        cache_dir: Folder of the cache files instead of ``<files>/zoo_cache``.
        decode_workers: Processes decoding JPEGs while a cache is built; None: one per CPU.
    """

    has_test_split = True

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 64,
        crop: int = 140,
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
        if not isinstance(crop, int) or not 1 <= crop <= ALIGNED_WIDTH:
            raise ValueError(
                f"crop must be an integer between 1 and {ALIGNED_WIDTH} (the aligned images are "
                f"{ALIGNED_WIDTH} x {ALIGNED_HEIGHT}), got {crop!r}"
            )
        self.crop = crop
        self.attribute_names: list[str] = []
        self.save_hyperparameters()

    @property
    def files_dir(self) -> Path:
        root = Path(self.data_dir).absolute()
        if not (root / "celeba").is_dir() and (root / IMAGE_FOLDER).is_dir():
            return root  # data_dir is the celeba folder itself
        return root / "celeba"

    def _listing(self, name: str) -> Path:
        """The official ``.txt`` annotation file, or its Kaggle ``.csv`` copy when only that exists."""
        path = self.files_dir / name
        csv = path.with_suffix(".csv")
        return csv if not path.is_file() and csv.is_file() else path

    def required_files(self) -> list[str]:
        return [f"{IMAGE_FOLDER}/", PARTITION_FILE, ATTRIBUTE_FILE]

    def missing_files(self) -> list[str]:
        missing = super().missing_files()
        return [name for name in missing if name.endswith("/") or not self._listing(name).is_file()]

    def how_to_get_files(self) -> str:
        return (
            f"download img_align_celeba.zip, {PARTITION_FILE} and {ATTRIBUTE_FILE} from {DOWNLOAD_PAGE} "
            f"(Google Drive folders Img/, Eval/ and Anno/), unzip the images so that {self.files_dir / IMAGE_FOLDER} "
            f"holds 000001.jpg ... 202599.jpg, and put the two .txt files in {self.files_dir}"
        )

    def cache_tag(self) -> str:
        return f"crop{self.crop}-{self.image_size}"

    def source_fingerprint(self, split: str) -> str:
        files = [self._listing(PARTITION_FILE), self._listing(ATTRIBUTE_FILE), self.files_dir / IMAGE_FOLDER]
        return f"{split}:{file_fingerprint(files)}"

    def build_split(self, split: str) -> tuple[Tensor, Tensor]:
        partition_path, attribute_path = self._listing(PARTITION_FILE), self._listing(ATTRIBUTE_FILE)
        names, codes = read_listing(partition_path, min_values=1)
        wanted = PARTITION_CODES[split]
        names = [name for name, row in zip(names, codes) if row[0] == wanted]
        attribute_rows = dict(zip(*read_listing(attribute_path, min_values=NUM_ATTRIBUTES)))
        self.attribute_names = self._read_attribute_names(attribute_path)
        absent = next((name for name in names if name not in attribute_rows), None)
        if absent is not None:
            raise DataCorruptError(
                f"CelebA: {attribute_path} has no row for {absent}, which {partition_path} lists; the file is "
                f"probably truncated. Download it again from {DOWNLOAD_PAGE}"
            )
        labels = torch.tensor([attribute_rows[name][:NUM_ATTRIBUTES] for name in names], dtype=torch.int64)
        labels = labels.reshape(len(names), NUM_ATTRIBUTES).add(1).div(2, rounding_mode="floor")  # {-1, 1} -> {0, 1}
        folder = self.files_dir / IMAGE_FOLDER
        images = decode_with_errors(
            self,
            ((str(folder / name), name) for name in names),
            count=len(names),
            crop=self.crop,
            description=f"CelebA {split} images",
            where=lambda name: str(folder / name),
        )
        return images, labels

    @staticmethod
    def _read_attribute_names(path: Path) -> list[str]:
        with path.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                fields = [field for field in _SPLIT_TOKENS.split(line.strip()) if field]
                if len(fields) >= NUM_ATTRIBUTES and not fields[0].lower().endswith((".jpg", ".png")):
                    return fields[-NUM_ATTRIBUTES:]  # the header row (the .csv one starts with image_id)
        return []

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if not self.attribute_names and (attribute_path := self._listing(ATTRIBUTE_FILE)).is_file():
            self.attribute_names = self._read_attribute_names(attribute_path)
