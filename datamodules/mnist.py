"""MNIST (LeCun et al. 1998) as one in-memory uint8 tensor."""

from __future__ import annotations

from pathlib import Path

import torchvision
from torch import Tensor

from datamodules.base import TorchvisionImageDataModule

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class MNIST(TorchvisionImageDataModule):
    """MNIST digits, 1 x 28 x 28 (optionally upsampled to 64 x 64), scaled to [-1, 1].

    Read with ``torchvision.datasets.MNIST`` from the four uncompressed IDX files in
    ``<data_dir>/MNIST/raw``. Train = the 60,000 training images; val and test = the 10,000 official
    test images, since the papers report test-set numbers. Labels are the digit classes.

    Args:
        data_dir: Root directory; the IDX files live in ``<data_dir>/MNIST/raw``.
        image_size: 28 (stored size) or 64 (bilinear, antialiased upsampling per batch, for the
            64 x 64 DCGAN-style networks).
        batch_size: Samples per batch.
        download: Download missing files in ``prepare_data`` (needs internet access).
        seed: Seed of the training-set shuffling.
    """

    torchvision_dataset = torchvision.datasets.MNIST
    num_channels = 1
    stored_image_size = 28
    supported_image_sizes = (28, 64)
    required_files = MNIST_FILES

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 28,
        batch_size: int = 100,
        download: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_dir=data_dir, image_size=image_size, batch_size=batch_size, download=download, seed=seed
        )
        self.save_hyperparameters()

    @property
    def files_dir(self) -> Path:
        return Path(self.data_dir).absolute() / "MNIST" / "raw"

    def how_to_get_files(self) -> str:
        mirror = torchvision.datasets.MNIST.mirrors[0]
        return (
            f"copy the uncompressed IDX files {', '.join(MNIST_FILES)} (the .gz files from {mirror}, "
            f"gunzipped) into {self.files_dir}"
        )

    def to_tensors(self, dataset: torchvision.datasets.MNIST) -> tuple[Tensor, Tensor]:
        return dataset.data.unsqueeze(1), dataset.targets
