"""GAN baselines (zoo.baselines.gan, zoo.baselines.mrgan, ...): DCGAN, LSGAN, WGAN-GP, MRGAN, the grid's
comparison systems and VAE/GAN on the networks of the papers that compare against them: ivgan.txt Table 4
for images (§4: 'Network architectures are fairly chosen among the baseline methods and IVGAN';
:mod:`zoo.nets.ivgan`), AIM's toy MLPs (zoo.nets.toy_nets, aim.txt §5.3 Table 2) for vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from zoo.nets.blocks import GaussianHead, TrunkEncoder, UnsupportedShapeError, init_normal, mlp
from zoo.nets.ivgan import IVGAN_CONV_WIDTHS, IVGAN_SUPPORTED_SHAPES_HELP, ivgan_nets


DISCRIMINATOR_NORMS = ("batch", "layer", "none")


@dataclass(eq=False)
class GANBaselineNets:
    """Generator G (z -> x), discriminator D (x -> one score) and, for MRGAN, an encoder E (x -> z)."""

    generator: nn.Module
    discriminator: nn.Module
    encoder: nn.Module | None = None


def baseline_discriminator(image_shape: Sequence[int], hidden_dim: int = 128, norm: str = "batch") -> nn.Sequential:
    """One discriminator / critic x -> one score (a logit, or a raw score for LSGAN and WGAN-GP).

    Images: ivgan.txt Table 4's D, i.e. CONV(K4, S2) 64-128-256-512 (our 32x32 / 28x28 variants as in
    :func:`zoo.nets.ivgan.ivgan_conv_nets`), each followed by a normalisation and LeakyReLU(0.2), then
    FC(1); returned as ``Sequential(trunk, head)``. ``norm``: ``"batch"`` is Table 4 (identical to the IVGAN trunk and
    adversarial head); ``"layer"`` replaces every BatchNorm by layer normalisation over (C, H, W) with a
    per-channel scale and offset (``GroupNorm(1, C)``), the critic normalisation of Gulrajani et al. 2017
    (§4 'No critic batch normalization ... we recommend layer normalization as a drop-in replacement',
    their gan_64x64.py); ``"none"`` drops it. Without BatchNorm the convolutions get a bias.

    Vectors: an MLP data -> hidden x 3 -> 1 with LeakyReLU(0.2), the layer sizes of AIM's toy D
    (:func:`zoo.nets.aim.toy_nets`: trunk data -> h -> h, head h -> h -> 1), without normalisation
    whatever ``norm``.
    """
    if norm not in DISCRIMINATOR_NORMS:
        raise ValueError(f"norm must be one of {DISCRIMINATOR_NORMS}, got {norm!r}")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 1:
        return mlp([shape[0], hidden_dim, hidden_dim, hidden_dim, 1], activation=lambda: nn.LeakyReLU(0.2))
    if not (len(shape) == 3 and shape[1] == shape[2] and shape[1] in IVGAN_CONV_WIDTHS):
        raise UnsupportedShapeError(f"no baseline discriminator for data of shape {shape}; "
                                    f"{IVGAN_SUPPORTED_SHAPES_HELP}")
    channels, size = shape[0], shape[1]
    widths = IVGAN_CONV_WIDTHS[size]
    end = 7 if size == 28 else 4
    trunk: list[nn.Module] = []
    for cin, cout in zip((channels, *widths), widths):
        trunk.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=norm != "batch"))
        if norm == "batch":
            trunk.append(nn.BatchNorm2d(cout))
        elif norm == "layer":
            trunk.append(nn.GroupNorm(1, cout))
        trunk.append(nn.LeakyReLU(0.2))
    head = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * end * end, 1))
    discriminator = nn.Sequential(nn.Sequential(*trunk), head)
    init_normal(discriminator)  # DCGAN's N(0, 0.02), as ivgan_conv_nets; GroupNorm starts at scale 1, offset 0
    return discriminator


def gan_baseline_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128, norm: str = "batch",
                      with_encoder: bool = False) -> GANBaselineNets:
    """The networks of the GAN baselines for ``image_shape``.

    Images: G and E of ivgan.txt Table 4 (:func:`ivgan_nets`; E ends in BatchNorm), D from
    :func:`baseline_discriminator`. Vectors: AIM's toy sizes (:func:`zoo.nets.aim.toy_nets`), G = MLP latent ->
    hidden x 3 -> data with ReLU, D as :func:`baseline_discriminator`, and E (MRGAN) = MLP data ->
    hidden x 3 -> latent with LeakyReLU(0.2), the transpose of G at D's width (AIM's encoder reads D's
    features, which a baseline has no reason to share). ``with_encoder=False`` builds no E.
    """
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    discriminator = baseline_discriminator(shape, hidden_dim, norm)
    if len(shape) == 1:
        generator = mlp([latent_dim, hidden_dim, hidden_dim, hidden_dim, shape[0]])
        encoder = mlp([shape[0], hidden_dim, hidden_dim, hidden_dim, latent_dim],
                      activation=lambda: nn.LeakyReLU(0.2)) if with_encoder else None
        return GANBaselineNets(generator, discriminator, encoder)
    nets = ivgan_nets(shape, latent_dim)
    return GANBaselineNets(nets.generator, discriminator, nets.encoder if with_encoder else None)


def gaussian_encoder(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128) -> TrunkEncoder:
    """The baselines' encoder E with a mean and a log-variance output.

    Vectors: MRGAN's E (:func:`gan_baseline_nets`: data -> hidden x 3 -> latent, LeakyReLU(0.2)) whose last
    hidden layer and output are doubled into the mu and log sigma^2 branches (:class:`GaussianHead`, no
    normalisation): body data -> h -> h, then each branch h -> h -> latent. Images: ivgan.txt Table 4's E
    without its last row (CONV(K4, O d) + BN, one deterministic code), flattened, then the FC(mu) /
    FC(sigma) branches of aim.txt Tables 3-4 (FC d, BN, LeakyReLU(0.2), FC d; :class:`GaussianHead`), with
    the tables' N(0, 0.02) initialisation. Trunk then head, as ALI's encoder (:class:`TrunkEncoder`).
    """
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    if len(shape) == 1:
        body = mlp([shape[0], hidden_dim, hidden_dim], activation=lambda: nn.LeakyReLU(0.2), final_activation=True)
        return TrunkEncoder(body, GaussianHead(hidden_dim, latent_dim, 0.2, batch_norm=False,
                                                  hidden_features=hidden_dim))
    table_encoder = ivgan_nets(shape, latent_dim).encoder  # raises UnsupportedShapeError for other shapes
    body = nn.Sequential(*list(table_encoder)[:-3], nn.Flatten())  # drop CONV(O d), BN, Flatten
    end = 7 if shape[1] == 28 else 4
    head = GaussianHead(IVGAN_CONV_WIDTHS[shape[1]][-1] * end * end, latent_dim, 0.2, batch_norm=True)
    init_normal(head)
    return TrunkEncoder(body, head)


def feature_discriminator(image_shape: Sequence[int], hidden_dim: int = 128, norm: str = "batch") -> nn.Sequential:
    """:func:`baseline_discriminator` as ``Sequential(trunk, head)``, so its intermediate features
    ``D[0](x)`` can be read (VAE/GAN's Dis_l). Images: already so built (trunk = the conv blocks, head =
    FC(1)). Vectors: the same MLP regrouped at AIM's trunk / head boundary (:func:`zoo.nets.aim.toy_nets`:
    trunk data -> h -> h with its activation, head h -> h -> 1); the same layers and initial weights."""
    discriminator = baseline_discriminator(image_shape, hidden_dim, norm)
    if len(tuple(image_shape)) == 1:
        layers = list(discriminator)
        return nn.Sequential(nn.Sequential(*layers[:4]), nn.Sequential(*layers[4:]))
    return discriminator


def vaegan_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128,
                norm: str = "batch") -> GANBaselineNets:
    """VAE/GAN's three networks on the baselines' layout: the generator (decoder) of :func:`gan_baseline_nets`,
    D as :func:`feature_discriminator` and E as :func:`gaussian_encoder`."""
    generator = gan_baseline_nets(image_shape, latent_dim, hidden_dim, norm).generator
    return GANBaselineNets(generator, feature_discriminator(image_shape, hidden_dim, norm),
                           gaussian_encoder(image_shape, latent_dim, hidden_dim))


class PackedDiscriminator(nn.Module):
    """PacGAN's packed discriminator (Lin et al. 2018, §3): D sees ``packing`` samples at once.

    A batch of n samples is read as n / m packs of m consecutive samples, concatenated along the channel axis
    (images: (n, C, H, W) -> (n/m, m C, H, W)) or the feature axis (vectors: (n, D) -> (n/m, m D)), and scored
    once per pack by ``network``, whose input is m times as wide. n must be a multiple of m.
    """

    def __init__(self, network: nn.Module, packing: int) -> None:
        super().__init__()
        self.network = network
        self.packing = int(packing)

    def pack(self, x: Tensor) -> Tensor:
        n, m = x.size(0), self.packing
        if n % m:
            raise ValueError(f"PacGAN packs {m} samples per discriminator input, so the batch size must be a "
                             f"multiple of {m}; got a batch of {n} (set --data.batch_size to a multiple of {m})")
        return x.reshape(n // m, m * x.size(1), *x.shape[2:])

    def forward(self, x: Tensor) -> Tensor:
        return self.network(self.pack(x))


def packed_discriminator(image_shape: Sequence[int], packing: int, hidden_dim: int = 128,
                         norm: str = "batch") -> PackedDiscriminator:
    """:func:`baseline_discriminator` for ``packing`` samples stacked along the channel / feature axis."""
    if isinstance(packing, bool) or int(packing) != packing or packing < 1:
        raise ValueError(f"packing must be an integer >= 1, got {packing!r}")
    shape = tuple(int(s) for s in image_shape)
    wide = (shape[0] * int(packing), *shape[1:])
    return PackedDiscriminator(baseline_discriminator(wide, hidden_dim, norm), int(packing))
