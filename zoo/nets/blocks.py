"""Building blocks shared by every paper's networks; no paper table of its own.

The tables' common parts: the N(0, 0.02) initialisation of aim.txt Tables 3-4 (:func:`init_normal`,
which every image network of the zoo uses), their 'Reshape' rows (:class:`Reshape`), the FC(mu) /
FC(sigma) branches of aim.txt Tables 3-4 (:class:`GaussianHead`), (transposed) convolution + BatchNorm +
activation rows (:func:`conv_block`, and :func:`upsampling_block` for alpha_gan.txt Table 4's and
ivaae.txt Table 4's 'SAME'-padded stride-2 rows), fully connected stacks (:func:`mlp`), the maxout layer
of the AIM authors' toy discriminator (:class:`Maxout`), and :class:`UnsupportedShapeError`, which
every builder raises for a data shape its tables do not cover.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class UnsupportedShapeError(ValueError):
    """The networks of the papers' tables cannot be built for this data shape."""


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """Weights ~ N(0, std), biases 0; BatchNorm scale 1 (aim.txt Tables 3-4, 'Weight, bias
    initialization: isotropic gaussian (mu = 0, sigma = 0.02), constant(0)')."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


class Reshape(nn.Module):
    """Reshape the non-batch dimensions (the tables' 'Reshape to C x H x W' rows)."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.size(0), *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class GaussianHead(nn.Module):
    """The two fully-connected branches FC(mu) and FC(sigma) of aim.txt Tables 3-4.

    Returns ``(mean, log_variance)``: the tables' FC(sigma) branch ends in a linear layer, which
    we read as predicting log sigma^2 (an unconstrained output must be mapped to a positive
    variance; the log is the standard, numerically stable choice).
    """

    def __init__(self, in_features: int, latent_dim: int, slope: float, batch_norm: bool = True,
                 learn_variance: bool = True, hidden_features: int | None = None) -> None:
        super().__init__()
        hidden = latent_dim if hidden_features is None else hidden_features  # the tables' width: d

        def branch() -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(in_features, hidden, bias=not batch_norm),
                nn.BatchNorm1d(hidden) if batch_norm else nn.Identity(),
                nn.LeakyReLU(slope),
                nn.Linear(hidden, latent_dim),
            )

        self.mean = branch()
        # Without a learned variance (AIM- / DALI-l2) sigma^2 = 1, i.e. log sigma^2 = 0.
        self.log_variance = branch() if learn_variance else None

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        mean = self.mean(h)
        if self.log_variance is None:
            return mean, torch.zeros_like(mean)
        return mean, self.log_variance(h)


def conv_block(cin: int, cout: int, kernel: int, stride: int, padding: int, batch_norm: bool,
                activation: nn.Module, transposed: bool = False) -> list[nn.Module]:
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    layers: list[nn.Module] = [conv(cin, cout, kernel, stride, padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(activation)
    return layers


def upsampling_block(cin: int, cout: int, batch_norm: bool, activation: nn.Module | None) -> list[nn.Module]:
    """5x5 stride-2 transposed convolution that doubles the size, as TensorFlow's 'SAME' padding does
    (Table 4's rows, tflib's Deconv2D); BN and ``activation`` follow unless None/False."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 5, 2, 2, output_padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    if activation is not None:
        layers.append(activation)
    return layers


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU, final_activation: bool = False) -> nn.Sequential:
    """Fully connected layers ``sizes[0] -> ... -> sizes[-1]`` with an activation between them."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): ``Linear(in, out * pieces)``, then the max over the pieces.

    The linear output is read as ``(pieces, out)`` per sample, as in the AIM authors' toy discriminator.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).reshape(x.size(0), self.pieces, self.out_features).amax(dim=1)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class TrunkEncoder(nn.Module):
    """x -> (mean, log_variance): a trunk x -> features, then a head features -> (mean, log_variance).

    ALI / VEEGAN's encoder (AIM's FeatureEncoder on its *own* copy of the D_feature layout, since those models
    have no discriminator trunk to share; without a learned variance the log-variance is 0) and VAE/GAN's
    (:func:`zoo.nets.gaussian_encoder`, a :class:`GaussianHead`)."""

    def __init__(self, trunk: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.trunk(x))
