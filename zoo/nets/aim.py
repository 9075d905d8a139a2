"""AIM / DALI networks: aim.txt Appendix B, Table 3 (28x28), Appendix C, Table 4 (64x64, and a 32x32
variant), MLPs for 2-D mixtures (:func:`toy_nets`, ours: the papers print no toy architecture) and the
AIM / DALI authors' own toy networks (:func:`official_toy_nets`). The inference-GAN baselines ALI, ALICE
and VEEGAN are built on these too (:mod:`zoo.nets.inference_baselines`).

A discriminator is split into a feature trunk (``D_feature``) and a head (``D_con``) because
AIM/DALI feed the trunk's features to the encoder (aim.txt §5, dali.txt §4). Builders return an
:class:`AdversarialInferenceNets` so every model that uses this layout names its parts the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from zoo.nets.blocks import GaussianHead, Maxout, Reshape, UnsupportedShapeError, conv_block, init_normal, mlp


SUPPORTED_SHAPES_HELP = (
    "supported data shapes: (D,) vectors such as 2-D toy data (MLPs); (C, 28, 28) images "
    "(aim.txt Table 3); (C, 32, 32) and (C, 64, 64) images (aim.txt Table 4, the 32x32 variant "
    "drops one stride-2 layer)"
)


class FeatureEncoder(nn.Module):
    """E(D_feature(x)): a body on the discriminator's features, then FC(mu) and FC(sigma)."""

    def __init__(self, body: nn.Module, body_features: int, latent_dim: int, slope: float,
                 batch_norm: bool = True, learn_variance: bool = True, hidden_features: int | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(body, nn.Flatten())
        self.head = GaussianHead(body_features, latent_dim, slope, batch_norm, learn_variance, hidden_features)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.body(features))


@dataclass(eq=False)
class AdversarialInferenceNets:
    """Generator G, discriminator trunk D_feature and head D_con, encoder E on trunk features."""

    generator: nn.Module
    features: nn.Module
    critic_head: nn.Module
    encoder: nn.Module


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
        *conv_block(128, 64, 4, 2, 1, True, nn.ReLU(), transposed=True),
        nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),
    )
    features = nn.Sequential(
        *conv_block(channels, 64, 4, 2, 1, False, nn.LeakyReLU(slope)),
        *conv_block(64, 128, 4, 2, 1, True, nn.LeakyReLU(slope)),
    )
    critic_head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1024, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(slope),
        nn.Linear(1024, 64),
        nn.Linear(64, 1),
    )
    # 7x7 -> 3x3 needs padding 1, which the table's 'Reshape to 576' (= 64 * 3 * 3) implies.
    encoder_body = nn.Sequential(*conv_block(128, 64, 4, 2, 1, True, nn.LeakyReLU(slope)))
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
    generator_layers += conv_block(latent_dim, widths[0], 4, 1, 0, True, nn.ReLU(), transposed=True)
    for cin, cout in zip(widths, widths[1:]):
        generator_layers += conv_block(cin, cout, 4, 2, 1, True, nn.ReLU(), transposed=True)
    generator_layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
    generator = nn.Sequential(*generator_layers)

    trunk_widths = widths[::-1]
    feature_layers = conv_block(channels, trunk_widths[0], 4, 2, 1, False, nn.LeakyReLU(slope))
    for cin, cout in zip(trunk_widths, trunk_widths[1:]):
        feature_layers += conv_block(cin, cout, 4, 2, 1, True, nn.LeakyReLU(slope))
    features = nn.Sequential(*feature_layers)
    trunk_out = trunk_widths[-1]

    critic_head = nn.Sequential(nn.Conv2d(trunk_out, 1, 4, 1, 0), nn.Flatten())
    encoder_body = nn.Sequential(
        *conv_block(trunk_out, 512, 4, 2, 1, False, nn.LeakyReLU(slope)),
        *conv_block(512, 512, 4, 2, 1, True, nn.LeakyReLU(slope)),
        *conv_block(512, 256, 2, 1, 1, True, nn.LeakyReLU(slope)),
        *conv_block(256, 128, 1, 1, 0, True, nn.LeakyReLU(slope)),
    )
    encoder = FeatureEncoder(encoder_body, 128 * 2 * 2, latent_dim, slope, learn_variance=learn_variance)
    nets = AdversarialInferenceNets(generator, features, critic_head, encoder)
    for net in (generator, features, critic_head, encoder):
        init_normal(net)
    return nets


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


OFFICIAL_TOY_WIDTHS = {"generator": 400, "discriminator": 200, "maxout_pieces": 5}


def official_toy_nets(data_dim: int, latent_dim: int, learn_variance: bool = True) -> AdversarialInferenceNets:
    """The AIM / DALI authors' 2-D networks (github.com/alexanderhanboli/AIM, ``LAI_mix_gaussian_fGAN.py``,
    DALI-f on the 25-Gaussian grid; the papers print no toy architecture):

    - G: MLP ``d -> 400 -> 400 -> 400 -> 400 -> data_dim``, BatchNorm + ReLU after each hidden layer;
    - D_feature: three maxout layers of 200 units with 5 pieces each, no normalisation;
    - D_con: ``Linear(200, 200)``, BatchNorm, LeakyReLU(0.1), ``Linear(200, 1)``; no output activation here
      (DALI-f's identity; AIM's sigmoid lives in its loss);
    - E on the trunk's features: ``Linear(200, 200)``, BatchNorm, ReLU, then the mu and log sigma^2 branches,
      each ``Linear(200, 200)``, BatchNorm, ReLU, ``Linear(200, d)``.

    Weights ~ N(0, 0.02), biases 0 (their ``utils.initialize_weights``). The same networks are in the
    authors' AIM grid script ``LAI_mix_gaussian_cl.py`` (the one their ``main.py`` runs for
    ``--dataset mixed-Gaussian``), where D_con ends in a sigmoid; their older ``LAI_mix_gaussian.py`` is
    different (BatchNorm in the maxout layers, LeakyReLU(0.2) in D_con, and an encoder of six 100-unit
    layers that reads x, not the trunk's features).
    """
    g_width, d_width, pieces = (OFFICIAL_TOY_WIDTHS[k] for k in ("generator", "discriminator", "maxout_pieces"))
    g_layers: list[nn.Module] = []
    fan_in = latent_dim
    for _ in range(4):
        g_layers += [nn.Linear(fan_in, g_width), nn.BatchNorm1d(g_width), nn.ReLU()]
        fan_in = g_width
    generator = nn.Sequential(*g_layers, nn.Linear(g_width, data_dim))
    features = nn.Sequential(Maxout(data_dim, d_width, pieces), Maxout(d_width, d_width, pieces),
                             Maxout(d_width, d_width, pieces))
    critic_head = nn.Sequential(nn.Linear(d_width, d_width), nn.BatchNorm1d(d_width), nn.LeakyReLU(0.1),
                                nn.Linear(d_width, 1))
    body = nn.Sequential(nn.Linear(d_width, d_width), nn.BatchNorm1d(d_width), nn.ReLU())
    # slope 0: LeakyReLU(0) is the ReLU of their mu / sigma branches.
    encoder = FeatureEncoder(body, d_width, latent_dim, 0.0, batch_norm=True, learn_variance=learn_variance,
                             hidden_features=d_width)
    nets = AdversarialInferenceNets(generator, features, critic_head, encoder)
    for net in (generator, features, critic_head, encoder):
        init_normal(net)
    return nets


TOY_ARCHS = ("zoo", "official")


def check_toy_arch(toy_arch: str) -> None:
    if toy_arch not in TOY_ARCHS:
        raise ValueError(f"toy_arch must be one of {TOY_ARCHS}, got {toy_arch!r}")


def adversarial_inference_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128,
                               learn_variance: bool = True, toy_arch: str = "zoo") -> AdversarialInferenceNets:
    """Pick the table that fits ``image_shape``; unsupported shapes fail with the list of supported ones.

    For vectors, ``toy_arch`` picks :func:`toy_nets` (``"zoo"``, width ``hidden_dim``) or
    :func:`official_toy_nets` (``"official"``, the authors' fixed widths; ``hidden_dim`` is ignored).
    Images ignore ``toy_arch``.
    """
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    check_toy_arch(toy_arch)
    if len(shape) == 1:
        if toy_arch == "official":
            return official_toy_nets(shape[0], latent_dim, learn_variance)
        return toy_nets(shape[0], latent_dim, hidden_dim, learn_variance)
    if len(shape) == 3 and shape[1] == shape[2]:
        channels, size = shape[0], shape[1]
        if size == 28:
            return mnist_nets(channels, latent_dim, learn_variance)
        if size in (32, 64):
            return dcgan_nets(channels, size, latent_dim, learn_variance)
    raise UnsupportedShapeError(f"no network for data of shape {shape}; {SUPPORTED_SHAPES_HELP}")


def paper_latent_dim(image_shape: Sequence[int]) -> int:
    """The latent size the tables use for this data: 32 for 28x28 (Table 3), 64 for 32/64 px
    images (Table 4), 2 for vectors (the 2-D latent codes plotted in aim.txt Figure 3b)."""
    shape = tuple(image_shape)
    if len(shape) == 1:
        return 2
    return 32 if shape[-1] == 28 else 64
