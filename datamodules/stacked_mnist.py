"""Stacked MNIST: three MNIST digits as the R, G, B channels of one image, 1,000 modes.

The mode-collapse benchmark of Metz et al. 2017 (Unrolled GANs) and Srivastava et al. 2017
(VEEGAN), used by IVGAN (ivgan.txt §4, Table 2) and, as "ColorMNIST", by alpha-GAN (alpha_gan.txt
§5, its reference [28] = Metz et al.). A generated image's mode is read off by classifying each
channel with a pre-trained MNIST classifier; a model that covers the data has all 1,000 modes, in
equal proportions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from datamodules.mnist import MNIST

NUM_MODES = 1000
#: The val split is drawn with its own generator, seeded with ``seed + VAL_SEED_OFFSET``.
VAL_SEED_OFFSET = 1_000_003


def stack_digits(digits: Tensor, labels: Tensor, count: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``count`` images whose channels are three independently, uniformly drawn digits.

    Args:
        digits: uint8 (N, 1, H, W) or (N, H, W) MNIST images.
        labels: Their digit classes (N,).
        count: Images to draw.
        generator: Source of the draw (three indices per image, in one ``randint`` call).

    Returns:
        uint8 (count, 3, H, W) images and int64 mode labels ``100 * d_R + 10 * d_G + d_B``.
    """
    digits = digits.reshape(len(digits), *digits.shape[-2:])
    picks = torch.randint(len(digits), (count, 3), generator=generator)
    images = digits[picks]  # (count, 3, H, W): one index operation
    digit_labels = labels.to(torch.int64)[picks]
    modes = digit_labels[:, 0] * 100 + digit_labels[:, 1] * 10 + digit_labels[:, 2]
    return images, modes


def mode_digits(modes: Tensor) -> Tensor:
    """The (R, G, B) digits of mode labels: (N,) -> (N, 3)."""
    return torch.stack([modes // 100, modes // 10 % 10, modes % 10], dim=-1)


class StackedMNIST(MNIST):
    """Stacked MNIST, 3 x 28 x 28 (optionally 64 x 64) in [-1, 1], labels = the 1,000 mode ids.

    Each image stacks three MNIST digits drawn independently and uniformly (with replacement) as its
    R, G and B channels; its label is the mode ``100 * digit_R + 10 * digit_G + digit_B`` (0..999,
    see :func:`mode_digits`). The draw is made once, in ``setup``, from a generator seeded with
    ``seed``, so the same seed gives the same dataset (and, as for every zoo datamodule, the same
    shuffling); the epoch length is fixed at ``num_train`` images.

    Protocol: Metz et al. 2017 / Srivastava et al. 2017, whose numbers IVGAN's Table 2 quotes, with
    the training-set size of VEEGAN's and PacGAN's code (25,600 images; those codes draw from all
    70,000 digits, here the training images come from the 60,000 training digits and the val/test
    images from the 10,000 test digits, so held-out data stays held out). IVGAN resizes to 64 x 64
    (``image_size=64``: bilinear, antialiased, per batch, like MNIST).

    The MNIST IDX files are read (and downloaded) exactly as by :class:`MNIST`, from
    ``<data_dir>/MNIST/raw``.

    Args:
        data_dir: Root directory; the MNIST IDX files live in ``<data_dir>/MNIST/raw``.
        image_size: 28 or 64.
        num_train: Training images drawn (the epoch length).
        num_val: Val (= test) images drawn from the MNIST test digits.
        batch_size: Samples per batch.
        download: Download missing MNIST files in ``prepare_data``.
        seed: Seed of the draw and of the training-set shuffling.
        device: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, or a device like ``"cuda:1"``.
    """

    num_channels = 3
    num_modes = NUM_MODES

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 28,
        num_train: int = 25_600,
        num_val: int = 10_000,
        batch_size: int = 64,
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
        for name, count in (("num_train", num_train), ("num_val", num_val)):
            if not isinstance(count, int) or count <= 0:
                raise ValueError(f"{name} must be a positive integer, got {count!r}")
        self.num_train = num_train
        self.num_val = num_val
        self.save_hyperparameters()

    def _load(self, train: bool) -> tuple[Tensor, Tensor]:
        digits, labels = super()._load(train)
        seed = self.seed if train else self.seed + VAL_SEED_OFFSET
        count = self.num_train if train else self.num_val
        return stack_digits(digits, labels, count, torch.Generator().manual_seed(seed))


class ColorMNIST(StackedMNIST):
    """alpha-GAN's "ColorMNIST" (alpha_gan.txt §5, App. H.4.1): Stacked MNIST at 28 x 28, batch 64.

    alpha-GAN cites Metz et al. 2017 (Unrolled GANs) for ColorMNIST; that paper's colour MNIST is,
    to our knowledge, the same stacking of three MNIST digits as the R, G, B channels (1,000 modes),
    so this is :class:`StackedMNIST` under alpha-GAN's name with its settings: 28 x 28 images (its
    Tables 3-4 networks end in 3 x 28 x 28) and batch size 64 (App. H.3). Arguments as
    :class:`StackedMNIST`.
    """
