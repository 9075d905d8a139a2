"""CIFAR-10 (Krizhevsky 2009) as one in-memory uint8 tensor."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torchvision
from torch import Tensor

from datamodules.base import TorchvisionImageDataModule

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = tuple(f"data_batch_{index}" for index in range(1, 6)) + ("test_batch", "batches.meta")


class CIFAR10(TorchvisionImageDataModule):
    """CIFAR-10, 3 x 32 x 32 RGB (optionally upsampled to 64 x 64), scaled to [-1, 1].

    Read with ``torchvision.datasets.CIFAR10`` (which checks the files' MD5 sums) from the python
    pickle batches in ``<data_dir>/cifar-10-batches-py``. Train = the 50,000 training images;
    val and test = the 10,000 official test images, since the papers report test-set numbers.
    Labels are the 10 classes.

    Args:
        data_dir: Root directory; the batches live in ``<data_dir>/cifar-10-batches-py``.
        image_size: 32 (stored size) or 64 (bilinear, antialiased upsampling per batch, for the
            64 x 64 DCGAN-style networks).
        batch_size: Samples per batch.
        download: Download the archive in ``prepare_data`` if files are missing (needs internet).
        seed: Seed of the training-set shuffling.
        device: Where the data lives: ``"auto"`` (the Trainer's GPU if there is one: the whole
            dataset is moved there once), ``"cpu"``, or a device such as ``"cuda:1"``.
    """

    torchvision_dataset = torchvision.datasets.CIFAR10
    num_channels = 3
    stored_image_size = 32
    supported_image_sizes = (32, 64)
    required_files = CIFAR10_FILES

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 32,
        batch_size: int = 100,
        download: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        super().__init__(
            data_dir=data_dir,
            image_size=image_size,
            batch_size=batch_size,
            download=download,
            seed=seed,
            device=device,
        )
        self.save_hyperparameters()

    @property
    def files_dir(self) -> Path:
        return Path(self.data_dir).absolute() / CIFAR10_FOLDER

    def how_to_get_files(self) -> str:
        return (
            f"download {torchvision.datasets.CIFAR10.url} and extract it in "
            f"{Path(self.data_dir).absolute()} (it unpacks to {CIFAR10_FOLDER}/ with "
            f"{', '.join(CIFAR10_FILES)})"
        )

    def file_problem(self, name: str) -> str | None:
        path = self.files_dir / name
        try:
            with path.open("rb") as file:
                entry = pickle.load(file, encoding="latin1")
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
            return f"{path} cannot be unpickled ({type(error).__name__}: {error})"
        if name == "batches.meta":
            return None
        data = entry.get("data") if isinstance(entry, dict) else None
        if data is None or getattr(data, "ndim", 0) != 2 or data.shape[1] != 3 * 32 * 32:
            return f"{path} holds no (N, 3072) 'data' array"
        return None

    def to_tensors(self, dataset: torchvision.datasets.CIFAR10) -> tuple[Tensor, Tensor]:
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
        return images, torch.as_tensor(dataset.targets, dtype=torch.int64)
