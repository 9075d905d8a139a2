"""ivgan.txt Appendix B.1, Table 4: the networks of IVGAN and of its baselines (DCGAN, LSGAN,
WGAN-GP, MRGAN), which §4 trains on the same architecture ('Network architectures are fairly
chosen among the baseline methods and IVGAN'); also our 32x32 / 28x28 variants and MLPs for vector
data. The baselines' own discriminator (a choice of normalisation) is in :mod:`zoo.nets.gan_baselines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from zoo.nets.blocks import Reshape, UnsupportedShapeError, conv_block, init_normal, mlp


IVGAN_SUPPORTED_SHAPES_HELP = (
    "supported data shapes: (D,) vectors such as 2-D toy data (MLPs); (C, 64, 64) images "
    "(ivgan.txt Table 4); (C, 32, 32) images (Table 4 without its 64-channel stride-2 layer); "
    "(C, 28, 28) images (ours: two stride-2 layers, 28 -> 14 -> 7, with 7x7 kernels at the 1x1 end); "
    "the paper resizes every dataset to 64x64 (--data.image_size 64)"
)


# Width of each stride-2 layer of D and E (G mirrors them), by input side; the last one ends on a
# 4x4 map (7x7 for 28x28), which G's first and E's last layer turn from / into a 1x1 code.
IVGAN_CONV_WIDTHS = {64: (64, 128, 256, 512), 32: (128, 256, 512), 28: (64, 128)}


@dataclass(eq=False)
class IVGANNets:
    """G, E, and the discriminator split into a trunk and its output layers (ivgan.txt §4: 'The
    classifier ... shares the parameters with the discriminator except for the output layer').

    D(x) = adversarial_head(trunk(x)) gives one score; f(x) = classifier_head(trunk(x)) gives k
    logits (None when built without a classifier, e.g. for a baseline GAN).
    """

    generator: nn.Module
    encoder: nn.Module
    trunk: nn.Module
    adversarial_head: nn.Module
    classifier_head: nn.Module | None


def ivgan_conv_nets(channels: int, image_size: int, latent_dim: int, num_classes: int | None = None) -> IVGANNets:
    """ivgan.txt Table 4 for ``image_size`` 64, and our 32x32 and 28x28 variants.

    64x64 (Table 4): D = CONV(K4, S2) 64-128-256-512, each with BN (the first one too, as the table
    lists) and LeakyReLU, then FC(1); G = TCONV(K4, S1, O512) then TCONV(K4, S2) 256-128-64-C, BN and
    ReLU, Tanh at the end; E = CONV(K4, S2) 64 (LeakyReLU, no BN) then 128-256-512 with BN and
    LeakyReLU, then CONV(K4, S2, O d) + BN, which on the 4x4 map (padding 0) gives the 1x1 x d code.
    The table gives no LeakyReLU slope: 0.2, DCGAN's. Stride-2 layers use padding 1.

    32x32 (ours): the 64-channel stride-2 layer (first of D and E, last hidden one of G) is dropped,
    so every later layer, the 4x4 map and the heads are Table 4's. 28x28 (ours, for MNIST at its
    stored size): two stride-2 layers 64-128 (28 -> 14 -> 7); G's first and E's last layer use
    7x7 kernels to map 1x1 <-> 7x7.
    """
    if image_size not in IVGAN_CONV_WIDTHS:
        raise UnsupportedShapeError(f"ivgan_conv_nets: image_size must be 28, 32 or 64, got {image_size}; "
                                    f"{IVGAN_SUPPORTED_SHAPES_HELP}")
    widths = IVGAN_CONV_WIDTHS[image_size]
    end = 7 if image_size == 28 else 4  # side of the last feature map
    slope = 0.2

    trunk_layers: list[nn.Module] = []
    for cin, cout in zip((channels, *widths), widths):
        trunk_layers += conv_block(cin, cout, 4, 2, 1, True, nn.LeakyReLU(slope))
    trunk = nn.Sequential(*trunk_layers)
    features = widths[-1] * end * end
    adversarial_head = nn.Sequential(nn.Flatten(), nn.Linear(features, 1))
    classifier_head = nn.Sequential(nn.Flatten(), nn.Linear(features, num_classes)) if num_classes else None

    generator_layers: list[nn.Module] = [Reshape(latent_dim, 1, 1)]
    generator_layers += conv_block(latent_dim, widths[-1], end, 1, 0, True, nn.ReLU(), transposed=True)
    reversed_widths = widths[::-1]
    for cin, cout in zip(reversed_widths, reversed_widths[1:]):
        generator_layers += conv_block(cin, cout, 4, 2, 1, True, nn.ReLU(), transposed=True)
    generator_layers += [nn.ConvTranspose2d(widths[0], channels, 4, 2, 1), nn.Tanh()]
    generator = nn.Sequential(*generator_layers)

    encoder_layers: list[nn.Module] = []
    for index, (cin, cout) in enumerate(zip((channels, *widths), widths)):
        encoder_layers += conv_block(cin, cout, 4, 2, 1, index > 0, nn.LeakyReLU(slope))
    encoder_layers += [nn.Conv2d(widths[-1], latent_dim, end, 2, 0, bias=False), nn.BatchNorm2d(latent_dim),
                       nn.Flatten()]
    encoder = nn.Sequential(*encoder_layers)

    nets = IVGANNets(generator, encoder, trunk, adversarial_head, classifier_head)
    for net in (generator, encoder, trunk, adversarial_head, classifier_head):
        if net is not None:
            init_normal(net)
    return nets


def ivgan_toy_nets(data_dim: int, latent_dim: int, num_classes: int | None = None, hidden_dim: int = 128) -> IVGANNets:
    """MLPs for vector data (ours: the paper has no vector experiment). Two hidden layers each,
    ReLU in G, LeakyReLU(0.2) in D and E; E ends in BatchNorm as Table 4's encoder does."""
    leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    generator = mlp([latent_dim, hidden_dim, hidden_dim, data_dim])
    encoder = nn.Sequential(*mlp([data_dim, hidden_dim, hidden_dim, latent_dim], activation=leaky),
                            nn.BatchNorm1d(latent_dim))
    trunk = mlp([data_dim, hidden_dim, hidden_dim], activation=leaky, final_activation=True)
    adversarial_head = nn.Linear(hidden_dim, 1)
    classifier_head = nn.Linear(hidden_dim, num_classes) if num_classes else None
    return IVGANNets(generator, encoder, trunk, adversarial_head, classifier_head)


def ivgan_nets(image_shape: Sequence[int], latent_dim: int, num_classes: int | None = None,
               hidden_dim: int = 128) -> IVGANNets:
    """The ivgan.txt Table 4 networks (or their 32x32 / 28x28 / MLP variants) for ``image_shape``.

    ``num_classes``: outputs of the classifier head (IVGAN: the number k of interventions); None
    builds no classifier. Unsupported shapes raise :class:`UnsupportedShapeError`.
    """
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    if num_classes is not None and num_classes <= 0:
        raise ValueError(f"num_classes must be positive or None, got {num_classes}")
    if len(shape) == 1:
        return ivgan_toy_nets(shape[0], latent_dim, num_classes, hidden_dim)
    if len(shape) == 3 and shape[1] == shape[2] and shape[1] in IVGAN_CONV_WIDTHS:
        return ivgan_conv_nets(shape[0], shape[1], latent_dim, num_classes)
    raise UnsupportedShapeError(f"no IVGAN network for data of shape {shape}; {IVGAN_SUPPORTED_SHAPES_HELP}")
