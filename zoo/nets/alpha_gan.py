"""alpha-GAN networks (alpha_gan.txt Appendix H.4): H.4.1's ColorMNIST Tables 3 (discriminator) and 4
(generator) for 28x28, H.4.2's DCGAN networks of Gulrajani et al. for 32x32 and 64x64, the code
discriminator C_omega, and MLPs for vector data (ours: the paper has no toy experiment). AGE is built
on these too (:mod:`zoo.nets.inference_baselines`), and so are alpha-GAN's DCGAN and WGAN-GP baselines
(H.4: 'For all our baselines, we used the same discriminator and generator architectures';
``networks="alpha_gan"`` of :class:`zoo.DCGAN` / :class:`zoo.WGANGP`), whose D may swap its BatchNorm
(``discriminator_norm``) and, for DCGAN on ColorMNIST, add Table 3's dropout (``discriminator_dropout``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from zoo.nets.blocks import Reshape, UnsupportedShapeError, conv_block, init_normal, mlp, upsampling_block


# D's hidden normalisation: "batch" is H's ('We used batch normalization for all our experiments'); "layer" and
# "none" are the WGAN-GP critic's of Gulrajani et al. (§4: no BatchNorm in the critic; gan_64x64.py's Normalize
# uses layer norm there, gan_cifar.py none), for alpha-GAN's WGAN-GP baseline.
ALPHA_GAN_DISCRIMINATOR_NORMS = ("batch", "layer", "none")

ALPHA_GAN_SHAPES_HELP = (
    "supported data shapes: (D,) vectors such as 2-D toy data (MLPs); (C, 28, 28) images "
    "(alpha_gan.txt Tables 3-4, the ColorMNIST networks); (C, 32, 32) and (C, 64, 64) images "
    "(alpha_gan.txt H.4.2, the DCGAN networks of Gulrajani et al.'s gan_cifar.py and gan_64x64.py)"
)


@dataclass(eq=False)
class AlphaGANNets:
    """The four networks of alpha-GAN (alpha_gan.txt §3, Algorithm 1).

    ``generator`` G_theta (z -> x in [-1, 1]), ``encoder`` (x -> z^, no output activation, H.4),
    ``discriminator`` D_phi (x -> one logit) and ``code_discriminator`` C_omega (z -> one logit;
    None for the empirical-KL variant of Appendix D).
    """

    generator: nn.Module
    encoder: nn.Module
    discriminator: nn.Module
    code_discriminator: nn.Module | None


def code_discriminator_mlp(latent_dim: int, hidden_dim: int = 750) -> nn.Sequential:
    """C_omega of H.4: 'a 3 layer MLP, each layer containing 750 hidden units', one output logit.

    Leaky ReLU(0.2) as in 'All discriminators ... use leaky units with a slope of 0.2'. Three hidden
    layers of ``hidden_dim`` units, then a linear logit; PyTorch's default initialisation.
    """
    # No BatchNorm: H.4 describes C as a plain MLP, and BN would let C judge batch statistics of z^.
    return mlp([latent_dim, hidden_dim, hidden_dim, hidden_dim, 1], activation=lambda: nn.LeakyReLU(0.2))


def check_discriminator_options(norm: str, dropout: float) -> None:
    """ValueError naming the argument for an unknown ``discriminator_norm`` or a dropout outside [0, 1)."""
    if norm not in ALPHA_GAN_DISCRIMINATOR_NORMS:
        raise ValueError(f"discriminator_norm must be one of {ALPHA_GAN_DISCRIMINATOR_NORMS}, got {norm!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"discriminator_dropout must be in [0, 1), got {dropout}")


def discriminator_block(cin: int, cout: int, stride: int, norm: str, slope: float = 0.2) -> list[nn.Module]:
    """One hidden row of an H.4 discriminator: 5x5 convolution ('SAME' padding), ``norm``, leaky ReLU.

    ``"batch"`` is :func:`conv_block` with BatchNorm (H); ``"layer"`` normalises each sample over (C, H, W)
    with a per-channel scale and offset (``GroupNorm(1, C)``, tflib's Layernorm over axes [1, 2, 3] that
    Gulrajani et al.'s gan_64x64.py puts in the WGAN-GP critic); ``"none"`` has no normalisation (their
    gan_cifar.py critic). Without BatchNorm the convolution has a bias.
    """
    if norm == "batch":
        return conv_block(cin, cout, 5, stride, 2, True, nn.LeakyReLU(slope))
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 5, stride, 2)]
    if norm == "layer":
        layers.append(nn.GroupNorm(1, cout))
    return [*layers, nn.LeakyReLU(slope)]


def with_dropout(convolutions: list[nn.Module], dropout: float) -> list[nn.Module]:
    """Table 3's DCGAN dropout 'after the last convolutional layer' (after its activation), when ``dropout > 0``."""
    return [*convolutions, nn.Dropout(dropout)] if dropout > 0 else convolutions


def colormnist_nets(channels: int, latent_dim: int, code_hidden_dim: int | None = 750,
                    discriminator_norm: str = "batch", discriminator_dropout: float = 0.0) -> AlphaGANNets:
    """alpha_gan.txt H.4.1: Table 3 (discriminator) and Table 4 (generator), 28x28, any channel count.

    5x5 kernels with 'SAME' padding (28 -> 14 -> 14 -> 7 -> 7 -> 4 in D). BatchNorm on every hidden
    layer except D's first (H: 'We used batch normalization for all our experiments'; the DCGAN rule
    the H.4.2 nets follow too). D: leaky ReLU 0.2; G and E: ReLU; G ends in tanh (data in [-1, 1]).
    The encoder transposes Table 4: conv 5x5/2 -> 32, 5x5/1 -> 64, 5x5/2 -> 64, linear -> latent_dim,
    no output activation (H.4).

    ``discriminator_norm`` (:func:`discriminator_block`) replaces D's BatchNorm for a WGAN-GP critic;
    ``discriminator_dropout`` is the drop probability of Table 3's caption ('For DCGAN, we use dropout of 0.8
    after the last convolutional layer. No other model uses dropout'), which we read as TensorFlow's keep
    probability 0.8, i.e. ``discriminator_dropout=0.2``. The defaults build alpha-GAN's D.
    """
    check_discriminator_options(discriminator_norm, discriminator_dropout)
    slope = 0.2
    generator = nn.Sequential(  # Table 4
        nn.Linear(latent_dim, 64 * 7 * 7, bias=False), nn.BatchNorm1d(64 * 7 * 7), nn.ReLU(),
        Reshape(64, 7, 7),
        *upsampling_block(64, 64, True, nn.ReLU()),  # 7 -> 14
        *conv_block(64, 32, 5, 1, 2, True, nn.ReLU(), transposed=True),  # 14 -> 14
        *upsampling_block(32, channels, False, nn.Tanh()),  # 14 -> 28
    )
    # ReLU like the generator it transposes: H.4 gives leaky units to 'all discriminators and the AGE encoder' only.
    encoder = nn.Sequential(
        *conv_block(channels, 32, 5, 2, 2, True, nn.ReLU()),  # 28 -> 14
        *conv_block(32, 64, 5, 1, 2, True, nn.ReLU()),  # 14 -> 14
        *conv_block(64, 64, 5, 2, 2, True, nn.ReLU()),  # 14 -> 7
        nn.Flatten(), nn.Linear(64 * 7 * 7, latent_dim),
    )
    # Table 3's 'Linear adv 2' is read as one logit (a 2-way softmax is a sigmoid of the logit difference);
    # its 'Linear class 10' head needs labels, which unsupervised alpha-GAN never uses, so it is left out.
    norm = discriminator_norm
    discriminator = nn.Sequential(  # Table 3
        *with_dropout([
            *conv_block(channels, 8, 5, 2, 2, False, nn.LeakyReLU(slope)),  # 28 -> 14
            *discriminator_block(8, 16, 1, norm, slope),  # 14 -> 14
            *discriminator_block(16, 32, 2, norm, slope),  # 14 -> 7
            *discriminator_block(32, 64, 1, norm, slope),  # 7 -> 7
            *discriminator_block(64, 64, 2, norm, slope),  # 7 -> 4
        ], discriminator_dropout),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 1),
    )
    for net in (generator, encoder, discriminator):
        init_normal(net)  # the DCGAN initialisation N(0, 0.02), as the zoo's other image networks
    code = code_discriminator_mlp(latent_dim, code_hidden_dim) if code_hidden_dim else None
    return AlphaGANNets(generator, encoder, discriminator, code)


def wgan_gp_dcgan_nets(channels: int, image_size: int, latent_dim: int, code_hidden_dim: int | None = 750,
                       discriminator_norm: str = "batch", discriminator_dropout: float = 0.0) -> AlphaGANNets:
    """alpha_gan.txt H.4.2: 'the same [networks] as the ones used by Gulrajani et al. for WGAN'.

    Gulrajani et al.'s DCGAN networks with BatchNorm: 64x64 = ``DCGANGenerator`` /
    ``DCGANDiscriminator`` of gan_64x64.py (DIM = 64); 32x32 = ``Generator`` / ``Discriminator`` of
    gan_cifar.py (DIM = 128, its BN branch for non-WGAN-GP losses). Both are 5x5 stride-2 (de)convolutions
    with widths 512 -> 256 -> 128 (-> 64) in G and the reverse in D, a linear layer from z to 512 x 4 x 4
    and a linear logit from 512 x 4 x 4; no BN on D's first layer or G's output, as in that code.
    The encoder transposes G: 5x5 stride-2 convolutions with BN and ReLU, then a linear layer to z,
    no output activation (H.4). ``discriminator_norm`` and ``discriminator_dropout`` as
    :func:`colormnist_nets` (H.4.2 states no dropout; the defaults build alpha-GAN's D).
    """
    check_discriminator_options(discriminator_norm, discriminator_dropout)
    if image_size not in (32, 64):
        raise UnsupportedShapeError(f"wgan_gp_dcgan_nets: image_size must be 32 or 64, got {image_size}")
    slope = 0.2
    widths = [512, 256, 128, 64] if image_size == 64 else [512, 256, 128]
    flat = widths[0] * 4 * 4
    if image_size == 64:  # gan_64x64.py normalises after the reshape, gan_cifar.py before it
        generator_layers: list[nn.Module] = [nn.Linear(latent_dim, flat, bias=False), Reshape(widths[0], 4, 4),
                                             nn.BatchNorm2d(widths[0]), nn.ReLU()]
    else:
        generator_layers = [nn.Linear(latent_dim, flat, bias=False), nn.BatchNorm1d(flat), nn.ReLU(),
                            Reshape(widths[0], 4, 4)]
    for cin, cout in zip(widths, widths[1:]):
        generator_layers += upsampling_block(cin, cout, True, nn.ReLU())
    generator_layers += upsampling_block(widths[-1], channels, False, nn.Tanh())
    generator = nn.Sequential(*generator_layers)

    up = widths[::-1]  # e.g. 64, 128, 256, 512
    encoder_layers = conv_block(channels, up[0], 5, 2, 2, True, nn.ReLU())
    for cin, cout in zip(up, up[1:]):
        encoder_layers += conv_block(cin, cout, 5, 2, 2, True, nn.ReLU())
    encoder = nn.Sequential(*encoder_layers, nn.Flatten(), nn.Linear(flat, latent_dim))

    discriminator_layers = conv_block(channels, up[0], 5, 2, 2, False, nn.LeakyReLU(slope))
    for cin, cout in zip(up, up[1:]):
        discriminator_layers += discriminator_block(cin, cout, 2, discriminator_norm, slope)
    discriminator = nn.Sequential(*with_dropout(discriminator_layers, discriminator_dropout), nn.Flatten(),
                                  nn.Linear(flat, 1))
    for net in (generator, encoder, discriminator):
        init_normal(net)  # gan_64x64.py's DCGAN nets: set_weights_stdev(0.02)
    code = code_discriminator_mlp(latent_dim, code_hidden_dim) if code_hidden_dim else None
    return AlphaGANNets(generator, encoder, discriminator, code)


def alpha_gan_toy_nets(data_dim: int, latent_dim: int, hidden_dim: int,
                       code_hidden_dim: int | None = 750) -> AlphaGANNets:
    """MLPs for vector data (the paper has no toy experiment): G with ReLU and three hidden layers,
    E its transpose (no output activation), D with leaky ReLU 0.2; no BatchNorm."""
    leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    generator = mlp([latent_dim, hidden_dim, hidden_dim, hidden_dim, data_dim])
    encoder = mlp([data_dim, hidden_dim, hidden_dim, hidden_dim, latent_dim])
    discriminator = mlp([data_dim, hidden_dim, hidden_dim, hidden_dim, 1], activation=leaky)
    code = code_discriminator_mlp(latent_dim, code_hidden_dim) if code_hidden_dim else None
    return AlphaGANNets(generator, encoder, discriminator, code)


def alpha_gan_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128,
                   code_hidden_dim: int | None = 750, discriminator_norm: str = "batch",
                   discriminator_dropout: float = 0.0) -> AlphaGANNets:
    """Pick alpha-GAN's networks for ``image_shape``; ``code_hidden_dim=None`` builds no code
    discriminator. Unsupported shapes fail with the list of supported ones.

    ``discriminator_norm`` / ``discriminator_dropout``: see :func:`colormnist_nets`; the vector MLPs have
    no normalisation whatever the norm, and no convolution for the dropout to follow (a ValueError)."""
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    check_discriminator_options(discriminator_norm, discriminator_dropout)
    if len(shape) == 1:
        if discriminator_dropout > 0:
            raise ValueError("discriminator_dropout is alpha_gan.txt Table 3's dropout after D's last convolution; "
                             f"the MLPs for vector data of shape {shape} have none (use 0)")
        return alpha_gan_toy_nets(shape[0], latent_dim, hidden_dim, code_hidden_dim)
    if len(shape) == 3 and shape[1] == shape[2]:
        channels, size = shape[0], shape[1]
        if size == 28:
            return colormnist_nets(channels, latent_dim, code_hidden_dim, discriminator_norm, discriminator_dropout)
        if size in (32, 64):
            return wgan_gp_dcgan_nets(channels, size, latent_dim, code_hidden_dim, discriminator_norm,
                                      discriminator_dropout)
    raise UnsupportedShapeError(f"no alpha-GAN network for data of shape {shape}; {ALPHA_GAN_SHAPES_HELP}")


def alpha_gan_latent_dim(image_shape: Sequence[int]) -> int:
    """alpha-GAN's latent size: 50 for 28x28 (the middle of H.4.1's sweep 10, 50, 75), 100 for 32x32
    and 64x64 ('The latent size was 100', Figures 11-12, the only size the paper states for CelebA /
    CIFAR-10), 2 for vectors (2-D toy data)."""
    shape = tuple(image_shape)
    if len(shape) == 1:
        return 2
    return 50 if shape[-1] == 28 else 100
