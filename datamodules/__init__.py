"""Datamodules of the zoo: in-memory tensors served as (x, y) batches, x in [-1, 1] for images."""

from datamodules.base import DataCorruptError, DataNotFoundError, TensorBatches, ZooDataModule
from datamodules.cifar10 import CIFAR10
from datamodules.mnist import MNIST
from datamodules.toy import GaussianMixture2D, Grid25, Ring8

__all__ = [
    "CIFAR10",
    "DataCorruptError",
    "DataNotFoundError",
    "GaussianMixture2D",
    "Grid25",
    "MNIST",
    "Ring8",
    "TensorBatches",
    "ZooDataModule",
]
