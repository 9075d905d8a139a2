"""MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao et al. 2017) as one in-memory uint8 tensor."""

from __future__ import annotations

import math
import struct
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
        device: Where the data lives: ``"auto"`` (the Trainer's GPU if there is one: the whole
            dataset is moved there once), ``"cpu"``, or a device such as ``"cuda:1"``.
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
        return Path(self.data_dir).absolute() / self.torchvision_dataset.__name__ / "raw"

    def how_to_get_files(self) -> str:
        mirror = self.torchvision_dataset.mirrors[0]
        return (
            f"copy the uncompressed IDX files {', '.join(MNIST_FILES)} (the .gz files from {mirror}, "
            f"gunzipped) into {self.files_dir}"
        )

    def file_problem(self, name: str) -> str | None:
        return idx_file_problem(self.files_dir / name)

    def to_tensors(self, dataset: torchvision.datasets.MNIST) -> tuple[Tensor, Tensor]:
        return dataset.data.unsqueeze(1), dataset.targets


def idx_file_problem(path: Path) -> str | None:
    """Why the IDX file ``path`` is unreadable (naming it), or None if its size matches its header.

    IDX: a big-endian magic ``0x0000 <type> <ndim>`` (type 0x08 = ubyte), ``ndim`` big-endian uint32
    sizes, then the data.
    """
    try:
        with path.open("rb") as file:
            header = file.read(4)
            if len(header) < 4 or header[:2] != b"\0\0" or header[2] != 0x08 or not 1 <= header[3] <= 4:
                return f"{path} is not an uncompressed IDX ubyte file"
            ndim = header[3]
            dims_bytes = file.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                return f"{path} is truncated inside its header"
            expected = 4 + 4 * ndim + math.prod(struct.unpack(f">{ndim}I", dims_bytes))
    except OSError as error:
        return f"{path} cannot be opened ({type(error).__name__}: {error})"
    actual = path.stat().st_size
    if actual != expected:
        return f"{path} has {actual} bytes where its header announces {expected}"
    return None


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al. 2017): 10 classes of clothing, 1 x 28 x 28 (optionally 64 x 64), [-1, 1].

    A drop-in MNIST replacement in the same IDX format, read with ``torchvision.datasets.FashionMNIST``
    from ``<data_dir>/FashionMNIST/raw``. Splits and arguments as :class:`MNIST`.
    """

    torchvision_dataset = torchvision.datasets.FashionMNIST
