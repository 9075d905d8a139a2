"""Datamodules of the zoo: in-memory tensors served as (x, y) batches, x in [-1, 1] for images."""

from datamodules.base import (
    BatchSizeError,
    DataCorruptError,
    DataNotFoundError,
    MissingExtraError,
    TensorBatches,
    ZooDataModule,
)
from datamodules.celeba import CelebA
from datamodules.cifar10 import CIFAR10
from datamodules.image_folder import ImageFolder
from datamodules.lsun import LSUN
from datamodules.mnist import MNIST, FashionMNIST
from datamodules.preprocessing import to_model_input
from datamodules.stacked_mnist import ColorMNIST, StackedMNIST
from datamodules.stl10 import STL10
from datamodules.toy import GaussianMixture2D, Grid25, Ring8

__all__ = [
    "BatchSizeError",
    "CIFAR10",
    "LSUN",
    "MNIST",
    "STL10",
    "CelebA",
    "ColorMNIST",
    "DataCorruptError",
    "DataNotFoundError",
    "FashionMNIST",
    "GaussianMixture2D",
    "Grid25",
    "ImageFolder",
    "MissingExtraError",
    "Ring8",
    "StackedMNIST",
    "TensorBatches",
    "ZooDataModule",
    "to_model_input",
]
