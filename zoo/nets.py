"""Networks built from the papers' architecture tables, one builder per table.

Images are in [-1, 1] everywhere in the zoo, so generators end in ``tanh``. aim.txt Table 3 ends
the MNIST generator in a sigmoid on [0, 1] data; ``tanh(a) = 2 sigmoid(2a) - 1``, so the two are
the same model up to an affine change of the data scale.

A discriminator is split into a feature trunk (``D_feature``) and a head (``D_con``) because
AIM/DALI feed the trunk's features to the encoder (aim.txt §5, dali.txt §4). Builders return an
:class:`AdversarialInferenceNets` so every model that uses this layout names its parts the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

SUPPORTED_SHAPES_HELP = (
    "supported data shapes: (D,) vectors such as 2-D toy data (MLPs); (C, 28, 28) images "
    "(aim.txt Table 3); (C, 32, 32) and (C, 64, 64) images (aim.txt Table 4, the 32x32 variant "
    "drops one stride-2 layer)"
)


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
                 learn_variance: bool = True) -> None:
        super().__init__()

        def branch() -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(in_features, latent_dim, bias=not batch_norm),
                nn.BatchNorm1d(latent_dim) if batch_norm else nn.Identity(),
                nn.LeakyReLU(slope),
                nn.Linear(latent_dim, latent_dim),
            )

        self.mean = branch()
        # Without a learned variance (AIM- / DALI-l2) sigma^2 = 1, i.e. log sigma^2 = 0.
        self.log_variance = branch() if learn_variance else None

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        mean = self.mean(h)
        if self.log_variance is None:
            return mean, torch.zeros_like(mean)
        return mean, self.log_variance(h)


class FeatureEncoder(nn.Module):
    """E(D_feature(x)): a body on the discriminator's features, then FC(mu) and FC(sigma)."""

    def __init__(self, body: nn.Module, body_features: int, latent_dim: int, slope: float,
                 batch_norm: bool = True, learn_variance: bool = True) -> None:
        super().__init__()
        self.body = nn.Sequential(body, nn.Flatten())
        self.head = GaussianHead(body_features, latent_dim, slope, batch_norm, learn_variance)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.body(features))


@dataclass(eq=False)
class AdversarialInferenceNets:
    """Generator G, discriminator trunk D_feature and head D_con, encoder E on trunk features."""

    generator: nn.Module
    features: nn.Module
    critic_head: nn.Module
    encoder: nn.Module


def _conv_block(cin: int, cout: int, kernel: int, stride: int, padding: int, batch_norm: bool,
                activation: nn.Module, transposed: bool = False) -> list[nn.Module]:
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    layers: list[nn.Module] = [conv(cin, cout, kernel, stride, padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(activation)
    return layers


def mnist_nets(channels: int, latent_dim: int, learn_variance: bool = True) -> AdversarialInferenceNets:
    """aim.txt Appendix B, Table 3 (28x28 MNIST; the paper's latent size is 32).

    The extracted table lost its BN tick marks; rows whose mark survives as a cross have no BN,
    the others do (the DCGAN/InfoGAN convention the table follows).
    """
    slope = 0.1
    generator = nn.Sequential(
        nn.Linear(latent_dim, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(),
        nn.Linear(1024, 128 * 7 * 7, bias=False), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
        Reshape(128, 7, 7),
        *_conv_block(128, 64, 4, 2, 1, True, nn.ReLU(), transposed=True),
        nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),
    )
    features = nn.Sequential(
        *_conv_block(channels, 64, 4, 2, 1, False, nn.LeakyReLU(slope)),
        *_conv_block(64, 128, 4, 2, 1, True, nn.LeakyReLU(slope)),
    )
    critic_head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1024, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(slope),
        nn.Linear(1024, 64),
        nn.Linear(64, 1),
    )
    # 7x7 -> 3x3 needs padding 1, which the table's 'Reshape to 576' (= 64 * 3 * 3) implies.
    encoder_body = nn.Sequential(*_conv_block(128, 64, 4, 2, 1, True, nn.LeakyReLU(slope)))
    encoder = FeatureEncoder(encoder_body, 64 * 3 * 3, latent_dim, slope, learn_variance=learn_variance)
    nets = AdversarialInferenceNets(generator, features, critic_head, encoder)
    for net in (generator, features, critic_head, encoder):
        init_normal(net)
    return nets


def dcgan_nets(channels: int, image_size: int, latent_dim: int,
               learn_variance: bool = True) -> AdversarialInferenceNets:
    """aim.txt Appendix C, Table 4 (64x64 CIFAR-10 / CelebA; the paper's latent size is 64).

    For 32x32 images the widest stride-2 layer of G and of D_feature is dropped, so D_feature
    still ends at 4x4 and D_con and E are unchanged. The encoder's kernel sizes only give the
    table's 'Reshape to 512' (= 128 x 2 x 2) with padding 1 on the 4x4, 4x4 and 2x2 convolutions.
    """
    if image_size not in (32, 64):
        raise UnsupportedShapeError(f"dcgan_nets: image_size must be 32 or 64, got {image_size}")
    slope = 0.2
    widths = [1024, 512, 256, 128] if image_size == 64 else [512, 256, 128]
    generator_layers: list[nn.Module] = [Reshape(latent_dim, 1, 1)]
    generator_layers += _conv_block(latent_dim, widths[0], 4, 1, 0, True, nn.ReLU(), transposed=True)
    for cin, cout in zip(widths, widths[1:]):
        generator_layers += _conv_block(cin, cout, 4, 2, 1, True, nn.ReLU(), transposed=True)
    generator_layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
    generator = nn.Sequential(*generator_layers)

    trunk_widths = widths[::-1]
    feature_layers = _conv_block(channels, trunk_widths[0], 4, 2, 1, False, nn.LeakyReLU(slope))
    for cin, cout in zip(trunk_widths, trunk_widths[1:]):
        feature_layers += _conv_block(cin, cout, 4, 2, 1, True, nn.LeakyReLU(slope))
    features = nn.Sequential(*feature_layers)
    trunk_out = trunk_widths[-1]

    critic_head = nn.Sequential(nn.Conv2d(trunk_out, 1, 4, 1, 0), nn.Flatten())
    encoder_body = nn.Sequential(
        *_conv_block(trunk_out, 512, 4, 2, 1, False, nn.LeakyReLU(slope)),
        *_conv_block(512, 512, 4, 2, 1, True, nn.LeakyReLU(slope)),
        *_conv_block(512, 256, 2, 1, 1, True, nn.LeakyReLU(slope)),
        *_conv_block(256, 128, 1, 1, 0, True, nn.LeakyReLU(slope)),
    )
    encoder = FeatureEncoder(encoder_body, 128 * 2 * 2, latent_dim, slope, learn_variance=learn_variance)
    nets = AdversarialInferenceNets(generator, features, critic_head, encoder)
    for net in (generator, features, critic_head, encoder):
        init_normal(net)
    return nets


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU, final_activation: bool = False) -> nn.Sequential:
    """Fully connected layers ``sizes[0] -> ... -> sizes[-1]`` with an activation between them."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


def toy_nets(data_dim: int, latent_dim: int, hidden_dim: int,
             learn_variance: bool = True) -> AdversarialInferenceNets:
    """MLPs for 2-D mixtures (aim.txt §5.3 gives no table; we follow the shape of VEEGAN's and
    ALI's toy networks: fully connected, ReLU in G, LeakyReLU(0.2) in D and E)."""
    generator = mlp([latent_dim, hidden_dim, hidden_dim, hidden_dim, data_dim])
    leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    features = mlp([data_dim, hidden_dim, hidden_dim], activation=leaky, final_activation=True)
    critic_head = mlp([hidden_dim, hidden_dim, 1], activation=leaky)
    encoder = FeatureEncoder(mlp([hidden_dim, hidden_dim], activation=leaky, final_activation=True),
                             hidden_dim, latent_dim, 0.2, batch_norm=False,
                             learn_variance=learn_variance)
    return AdversarialInferenceNets(generator, features, critic_head, encoder)


def adversarial_inference_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128,
                               learn_variance: bool = True) -> AdversarialInferenceNets:
    """Pick the table that fits ``image_shape``; unsupported shapes fail with the list of supported ones."""
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    if len(shape) == 1:
        return toy_nets(shape[0], latent_dim, hidden_dim, learn_variance)
    if len(shape) == 3 and shape[1] == shape[2]:
        channels, size = shape[0], shape[1]
        if size == 28:
            return mnist_nets(channels, latent_dim, learn_variance)
        if size in (32, 64):
            return dcgan_nets(channels, size, latent_dim, learn_variance)
    raise UnsupportedShapeError(f"no network for data of shape {shape}; {SUPPORTED_SHAPES_HELP}")


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def paper_latent_dim(image_shape: Sequence[int]) -> int:
    """The latent size the tables use for this data: 32 for 28x28 (Table 3), 64 for 32/64 px
    images (Table 4), 2 for vectors (the 2-D latent codes plotted in aim.txt Figure 3b)."""
    shape = tuple(image_shape)
    if len(shape) == 1:
        return 2
    return 32 if shape[-1] == 28 else 64
