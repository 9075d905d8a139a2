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


# ------------------------------------------------------------------ inference-GAN baselines (ALI, ALICE, VEEGAN; AGE)
# ALI / ALICE / VEEGAN on AIM's networks (aim.txt Tables 1-4 and toy_nets), so aim.txt Tables 1-2's
# comparison runs on identical generators and discriminator trunks; AGE on alpha-GAN's (H.4).


class JointDiscriminator(nn.Module):
    """D(x, z) -> one logit, on pairs (data, code), as in ALI / BiGAN and VEEGAN.

    ``joint(cat(x_embedding(features(x)), z_embedding(z)))``: ``features`` is AIM's D_feature trunk
    (aim.txt Tables 3-4, or the toy MLP trunk), ``x_embedding`` flattens it into ``width`` units,
    ``z_embedding`` is a two-layer MLP of the code into ``width`` units and ``joint`` a two-layer MLP
    of the concatenation: the D(x), D(z) and D(x, z) parts of ALI's discriminator (Dumoulin et al.
    2016, Appendix A), built on the comparison paper's trunk.
    """

    def __init__(self, features: nn.Module, x_embedding: nn.Module, z_embedding: nn.Module, joint: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.x_embedding = x_embedding
        self.z_embedding = z_embedding
        self.joint = joint

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        hx = self.x_embedding(self.features(x))
        hz = self.z_embedding(z)
        return self.joint(torch.cat([hx, hz.to(hx.dtype)], dim=1))


class TrunkEncoder(nn.Module):
    """x -> (mean, log_variance): AIM's encoder E (FeatureEncoder) on its *own* copy of the D_feature
    layout, since ALI / VEEGAN have no discriminator trunk to share with the encoder. Without a learned
    variance the log-variance is 0 (a deterministic code: the mean)."""

    def __init__(self, trunk: nn.Module, head: FeatureEncoder) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.trunk(x))


@dataclass(eq=False)
class JointInferenceNets:
    """Generator G (AIM's), encoder E / reconstructor F (``TrunkEncoder``) and joint D(x, z)."""

    generator: nn.Module
    encoder: TrunkEncoder
    discriminator: JointDiscriminator


JOINT_WIDTH_IMAGES = 1024  # aim.txt Table 3: the width of D_con's hidden FC layer


def joint_inference_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128,
                         learn_variance: bool = True) -> JointInferenceNets:
    """ALI / ALICE / VEEGAN networks on AIM's tables for ``image_shape`` (same shapes as AIM).

    G and D_feature are AIM's (``adversarial_inference_nets``); E is AIM's encoder layout on a second,
    independently initialised trunk. The joint discriminator's embeddings and head (ours: the tables
    have no joint D) are fully connected with LeakyReLU of the table's slope (0.1 on 28x28, 0.2
    otherwise), no BatchNorm, width ``hidden_dim`` for vectors and 1024 (Table 3's D_con width) for
    images, with the tables' N(0, 0.02) initialisation on images. ``learn_variance=False`` gives a
    deterministic encoder (VEEGAN's reconstructor F).
    """
    shape = tuple(int(s) for s in image_shape)
    nets = adversarial_inference_nets(shape, latent_dim, hidden_dim, learn_variance)
    encoder_nets = adversarial_inference_nets(shape, latent_dim, hidden_dim, learn_variance)
    encoder = TrunkEncoder(encoder_nets.features, encoder_nets.encoder)
    is_vector = len(shape) == 1
    width = hidden_dim if is_vector else JOINT_WIDTH_IMAGES
    slope = 0.1 if shape[-1] == 28 and not is_vector else 0.2
    with torch.no_grad():
        was_training = nets.features.training
        trunk_features = nets.features.eval()(torch.zeros(1, *shape)).numel()
        nets.features.train(was_training)
    leaky = lambda: nn.LeakyReLU(slope)  # noqa: E731
    x_embedding = nn.Sequential(nn.Flatten(), nn.Linear(trunk_features, width), leaky())
    z_embedding = mlp([latent_dim, width, width], activation=leaky, final_activation=True)
    joint = mlp([2 * width, width, 1], activation=leaky)
    if not is_vector:
        for net in (x_embedding, z_embedding, joint):
            init_normal(net)
    discriminator = JointDiscriminator(nets.features, x_embedding, z_embedding, joint)
    return JointInferenceNets(nets.generator, encoder, discriminator)


class SphereProjection(nn.Module):
    """Project codes onto the unit sphere, z / ||z||_2 (AGE's encoder output; alpha_gan.txt H.3).
    Computed in float32, so codes are unit vectors under bf16 autocast too."""

    def forward(self, z: Tensor) -> Tensor:
        return nn.functional.normalize(z.float().flatten(1), dim=1, eps=1e-12)


@dataclass(eq=False)
class AGENets:
    """AGE's two networks: generator G (z on the sphere -> x) and encoder E (x -> unit code)."""

    generator: nn.Module
    encoder: nn.Module


def age_nets(image_shape: Sequence[int], latent_dim: int, hidden_dim: int = 128) -> AGENets:
    """AGE on alpha-GAN's networks (alpha_gan.txt H.4): alpha-GAN's generator, and as encoder the
    layout of alpha-GAN's data discriminator D_phi with ``latent_dim`` outputs instead of one logit,
    followed by :class:`SphereProjection`.

    H.4: 'For AGE we used the encoder architecture suggested by the authors, which is very similar
    to the DCGAN discriminator architecture' and 'All discriminators and the AGE encoder use leaky
    units with a slope of 0.2' -- so not alpha-GAN's ReLU encoder (the transposed generator). The
    AGE code's encoder (models/dcgan32px.py) is likewise a DCGAN discriminator ending in nz outputs.
    Same shapes as :func:`alpha_gan_nets`.
    """
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    nets = alpha_gan_nets(image_shape, latent_dim, hidden_dim, code_hidden_dim=None)
    body = nets.discriminator
    logit = body[-1]
    body[-1] = nn.Linear(logit.in_features, latent_dim)
    if len(tuple(image_shape)) > 1:
        init_normal(body[-1])  # as the rest of the H.4 image networks
    return AGENets(nets.generator, nn.Sequential(body, SphereProjection()))


# ------------------------------------------------------------------ alpha-GAN (alpha_gan.txt Appendix H.4)

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


def _upsampling_block(cin: int, cout: int, batch_norm: bool, activation: nn.Module | None) -> list[nn.Module]:
    """5x5 stride-2 transposed convolution that doubles the size, as TensorFlow's 'SAME' padding does
    (Table 4's rows, tflib's Deconv2D); BN and ``activation`` follow unless None/False."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 5, 2, 2, output_padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    if activation is not None:
        layers.append(activation)
    return layers


def colormnist_nets(channels: int, latent_dim: int, code_hidden_dim: int | None = 750) -> AlphaGANNets:
    """alpha_gan.txt H.4.1: Table 3 (discriminator) and Table 4 (generator), 28x28, any channel count.

    5x5 kernels with 'SAME' padding (28 -> 14 -> 14 -> 7 -> 7 -> 4 in D). BatchNorm on every hidden
    layer except D's first (H: 'We used batch normalization for all our experiments'; the DCGAN rule
    the H.4.2 nets follow too). D: leaky ReLU 0.2; G and E: ReLU; G ends in tanh (data in [-1, 1]).
    The encoder transposes Table 4: conv 5x5/2 -> 32, 5x5/1 -> 64, 5x5/2 -> 64, linear -> latent_dim,
    no output activation (H.4).
    """
    slope = 0.2
    generator = nn.Sequential(  # Table 4
        nn.Linear(latent_dim, 64 * 7 * 7, bias=False), nn.BatchNorm1d(64 * 7 * 7), nn.ReLU(),
        Reshape(64, 7, 7),
        *_upsampling_block(64, 64, True, nn.ReLU()),  # 7 -> 14
        *_conv_block(64, 32, 5, 1, 2, True, nn.ReLU(), transposed=True),  # 14 -> 14
        *_upsampling_block(32, channels, False, nn.Tanh()),  # 14 -> 28
    )
    # ReLU like the generator it transposes: H.4 gives leaky units to 'all discriminators and the AGE encoder' only.
    encoder = nn.Sequential(
        *_conv_block(channels, 32, 5, 2, 2, True, nn.ReLU()),  # 28 -> 14
        *_conv_block(32, 64, 5, 1, 2, True, nn.ReLU()),  # 14 -> 14
        *_conv_block(64, 64, 5, 2, 2, True, nn.ReLU()),  # 14 -> 7
        nn.Flatten(), nn.Linear(64 * 7 * 7, latent_dim),
    )
    # Table 3's 'Linear adv 2' is read as one logit (a 2-way softmax is a sigmoid of the logit difference);
    # its 'Linear class 10' head needs labels, which unsupervised alpha-GAN never uses, so it is left out.
    discriminator = nn.Sequential(  # Table 3
        *_conv_block(channels, 8, 5, 2, 2, False, nn.LeakyReLU(slope)),  # 28 -> 14
        *_conv_block(8, 16, 5, 1, 2, True, nn.LeakyReLU(slope)),  # 14 -> 14
        *_conv_block(16, 32, 5, 2, 2, True, nn.LeakyReLU(slope)),  # 14 -> 7
        *_conv_block(32, 64, 5, 1, 2, True, nn.LeakyReLU(slope)),  # 7 -> 7
        *_conv_block(64, 64, 5, 2, 2, True, nn.LeakyReLU(slope)),  # 7 -> 4
        nn.Flatten(), nn.Linear(64 * 4 * 4, 1),
    )
    for net in (generator, encoder, discriminator):
        init_normal(net)  # the DCGAN initialisation N(0, 0.02), as the zoo's other image networks
    code = code_discriminator_mlp(latent_dim, code_hidden_dim) if code_hidden_dim else None
    return AlphaGANNets(generator, encoder, discriminator, code)


def wgan_gp_dcgan_nets(channels: int, image_size: int, latent_dim: int,
                       code_hidden_dim: int | None = 750) -> AlphaGANNets:
    """alpha_gan.txt H.4.2: 'the same [networks] as the ones used by Gulrajani et al. for WGAN'.

    Gulrajani et al.'s DCGAN networks with BatchNorm: 64x64 = ``DCGANGenerator`` /
    ``DCGANDiscriminator`` of gan_64x64.py (DIM = 64); 32x32 = ``Generator`` / ``Discriminator`` of
    gan_cifar.py (DIM = 128, its BN branch for non-WGAN-GP losses). Both are 5x5 stride-2 (de)convolutions
    with widths 512 -> 256 -> 128 (-> 64) in G and the reverse in D, a linear layer from z to 512 x 4 x 4
    and a linear logit from 512 x 4 x 4; no BN on D's first layer or G's output, as in that code.
    The encoder transposes G: 5x5 stride-2 convolutions with BN and ReLU, then a linear layer to z,
    no output activation (H.4).
    """
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
        generator_layers += _upsampling_block(cin, cout, True, nn.ReLU())
    generator_layers += _upsampling_block(widths[-1], channels, False, nn.Tanh())
    generator = nn.Sequential(*generator_layers)

    up = widths[::-1]  # e.g. 64, 128, 256, 512
    encoder_layers = _conv_block(channels, up[0], 5, 2, 2, True, nn.ReLU())
    for cin, cout in zip(up, up[1:]):
        encoder_layers += _conv_block(cin, cout, 5, 2, 2, True, nn.ReLU())
    encoder = nn.Sequential(*encoder_layers, nn.Flatten(), nn.Linear(flat, latent_dim))

    discriminator_layers = _conv_block(channels, up[0], 5, 2, 2, False, nn.LeakyReLU(slope))
    for cin, cout in zip(up, up[1:]):
        discriminator_layers += _conv_block(cin, cout, 5, 2, 2, True, nn.LeakyReLU(slope))
    discriminator = nn.Sequential(*discriminator_layers, nn.Flatten(), nn.Linear(flat, 1))
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
                   code_hidden_dim: int | None = 750) -> AlphaGANNets:
    """Pick alpha-GAN's networks for ``image_shape``; ``code_hidden_dim=None`` builds no code
    discriminator. Unsupported shapes fail with the list of supported ones."""
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    if len(shape) == 1:
        return alpha_gan_toy_nets(shape[0], latent_dim, hidden_dim, code_hidden_dim)
    if len(shape) == 3 and shape[1] == shape[2]:
        channels, size = shape[0], shape[1]
        if size == 28:
            return colormnist_nets(channels, latent_dim, code_hidden_dim)
        if size in (32, 64):
            return wgan_gp_dcgan_nets(channels, size, latent_dim, code_hidden_dim)
    raise UnsupportedShapeError(f"no alpha-GAN network for data of shape {shape}; {ALPHA_GAN_SHAPES_HELP}")


def alpha_gan_latent_dim(image_shape: Sequence[int]) -> int:
    """alpha-GAN's latent size: 50 for 28x28 (the middle of H.4.1's sweep 10, 50, 75), 100 for 32x32
    and 64x64 ('The latent size was 100', Figures 11-12, the only size the paper states for CelebA /
    CIFAR-10), 2 for vectors (2-D toy data)."""
    shape = tuple(image_shape)
    if len(shape) == 1:
        return 2
    return 50 if shape[-1] == 28 else 100


# ------------------------------------------------------------------ GAN baselines (zoo.baselines.gan, zoo.baselines.mrgan)
# DCGAN, LSGAN, WGAN-GP and MRGAN on the networks of the papers that compare against them: ivgan.txt
# Table 4 for images (§4: 'Network architectures are fairly chosen among the baseline methods and
# IVGAN'), AIM's toy MLPs (zoo.nets.toy_nets, aim.txt §5.3 Table 2) for vectors.

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
    :func:`ivgan_conv_nets`), each followed by a normalisation and LeakyReLU(0.2), then FC(1); returned
    as ``Sequential(trunk, head)``. ``norm``: ``"batch"`` is Table 4 (identical to the IVGAN trunk and
    adversarial head); ``"layer"`` replaces every BatchNorm by layer normalisation over (C, H, W) with a
    per-channel scale and offset (``GroupNorm(1, C)``), the critic normalisation of Gulrajani et al. 2017
    (§4 'No critic batch normalization ... we recommend layer normalization as a drop-in replacement',
    their gan_64x64.py); ``"none"`` drops it. Without BatchNorm the convolutions get a bias.

    Vectors: an MLP data -> hidden x 3 -> 1 with LeakyReLU(0.2), the layer sizes of AIM's toy D
    (:func:`toy_nets`: trunk data -> h -> h, head h -> h -> 1), without normalisation whatever ``norm``.
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
    :func:`baseline_discriminator`. Vectors: AIM's toy sizes (:func:`toy_nets`), G = MLP latent ->
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


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def paper_latent_dim(image_shape: Sequence[int]) -> int:
    """The latent size the tables use for this data: 32 for 28x28 (Table 3), 64 for 32/64 px
    images (Table 4), 2 for vectors (the 2-D latent codes plotted in aim.txt Figure 3b)."""
    shape = tuple(image_shape)
    if len(shape) == 1:
        return 2
    return 32 if shape[-1] == 28 else 64


# ------------------------------------------------------------------------------------------------
# ivgan.txt Appendix B.1, Table 4: the networks of IVGAN and of its baselines (DCGAN, LSGAN,
# WGAN-GP, MRGAN), which §4 trains on the same architecture ('Network architectures are fairly
# chosen among the baseline methods and IVGAN').

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
        trunk_layers += _conv_block(cin, cout, 4, 2, 1, True, nn.LeakyReLU(slope))
    trunk = nn.Sequential(*trunk_layers)
    features = widths[-1] * end * end
    adversarial_head = nn.Sequential(nn.Flatten(), nn.Linear(features, 1))
    classifier_head = nn.Sequential(nn.Flatten(), nn.Linear(features, num_classes)) if num_classes else None

    generator_layers: list[nn.Module] = [Reshape(latent_dim, 1, 1)]
    generator_layers += _conv_block(latent_dim, widths[-1], end, 1, 0, True, nn.ReLU(), transposed=True)
    reversed_widths = widths[::-1]
    for cin, cout in zip(reversed_widths, reversed_widths[1:]):
        generator_layers += _conv_block(cin, cout, 4, 2, 1, True, nn.ReLU(), transposed=True)
    generator_layers += [nn.ConvTranspose2d(widths[0], channels, 4, 2, 1), nn.Tanh()]
    generator = nn.Sequential(*generator_layers)

    encoder_layers: list[nn.Module] = []
    for index, (cin, cout) in enumerate(zip((channels, *widths), widths)):
        encoder_layers += _conv_block(cin, cout, 4, 2, 1, index > 0, nn.LeakyReLU(slope))
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


# ------------------------------------------------------------------------------------------------
# ivaae.txt Appendix A.2: the networks of IVAAE and of its baselines WAE-GAN (= deterministic AAE) and
# WAE-MMD, which §4 trains on the same architecture ('The only difference in WAE and IVAAE's model
# structure is the output size of discriminator'). Every encoder is deterministic (§4: 'We use
# deterministic models only'); the latent discriminator has t + 1 outputs (softmax in the loss).

IVAAE_SUPPORTED_SHAPES_HELP = (
    "supported data shapes: (D,) vectors such as 2-D toy data (MLPs); (1, 64, 64) images (ivaae.txt "
    "Table 3, MNIST resized to 64x64) and (1, 28, 28) (ours: the Table 3 nets on MNIST's stored size); "
    "(C, 64, 64) colour images (Table 4, CIFAR-10 / CelebA) and (C, 32, 32) (ours: the Table 4 nets on "
    "CIFAR-10's stored size, every feature map half the side); the paper resizes every dataset to 64x64 "
    "(--data.image_size 64)"
)
IVAAE_CONV_WIDTHS = (128, 256, 512, 1024)  # Table 4: E's CONV channels; G mirrors them


class DeterministicEncoder(nn.Module):
    """E(x) = head(body(x)), a deterministic code. ``body`` ends at E's last hidden layer, the features
    the encoder probe of ivaae.txt §4 (Figure 5) reads: 'a two-layer MLP ... is connected to the
    encoder's last hidden layer'."""

    def __init__(self, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


@dataclass(eq=False)
class IVAAENets:
    """Encoder E (x -> z, no output activation), decoder G (z -> x in [-1, 1]) and the latent
    discriminator D (z -> ``num_classes`` logits; None for WAE-MMD, which has none)."""

    encoder: DeterministicEncoder
    generator: nn.Module
    discriminator: nn.Module | None


def ivaae_fc_nets(image_shape: Sequence[int], latent_dim: int, num_classes: int | None = None) -> IVAAENets:
    """ivaae.txt Table 3 (MNIST, 64x64 input, d = 16), 'the same architecture as WAE' (§4):

    E = FC(1024) ReLU FC(1024, 1024) ReLU FC(1024, d); G = FC(d, 1024) ReLU FC(1024, 1024) ReLU
    FC(H x W) Tanh; D = FC(d, 1024) ReLU FC(1024, 1024) ReLU FC(t + 1). No BatchNorm (the table has
    none). Any (C, H, W) works (the FC input is C*H*W); we use it for (1, 64, 64) and, ours, (1, 28, 28).
    PyTorch's default initialisation (the paper states none; with N(0, 0.02) and no BatchNorm these
    nets reconstructed MNIST about half as fast in a 400-iteration check).
    """
    shape = tuple(int(s) for s in image_shape)
    size = 1
    for s in shape:
        size *= s
    body = nn.Sequential(nn.Flatten(), nn.Linear(size, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU())
    encoder = DeterministicEncoder(body, nn.Linear(1024, latent_dim))
    generator = nn.Sequential(
        nn.Linear(latent_dim, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, size), nn.Tanh(), Reshape(*shape),
    )
    discriminator = mlp([latent_dim, 1024, 1024, num_classes]) if num_classes else None
    return IVAAENets(encoder, generator, discriminator)


def ivaae_conv_nets(channels: int, image_size: int, latent_dim: int, num_classes: int | None = None) -> IVAAENets:
    """ivaae.txt Table 4 (CelebA / CIFAR-10 at 64x64; d = 64 / 128), 'similar to what is recommended in WAE':

    E = CONV(C128, K5, S2) -> 256 -> 512 -> 1024, each with BN and ReLU, then FC(d) on the 1024 x 4 x 4 map.
    G = FC(1024 x 8 x 8), reshape, DCONV(K5, S2) 512 -> 256 -> 128 with BN and ReLU, DCONV(C, K5, S1), Tanh.
    D = four FC(512) layers with ReLU, then FC(t + 1) ('a network composed of four fully connected
    linear layers of 512 elements').

    Readings of the extracted table: its G strides (S1, S1, S2) cannot turn 8x8 into 64x64; we read
    three stride-2 layers (8 -> 16 -> 32 -> 64), WAE's layout, and its last 'DCONV(C1, K4, S0)' as a
    stride-1 K5 layer to C channels (a stride-1 K4 layer cannot keep the size with symmetric padding).
    No activation after G's FC layer (the table lists none). 'SAME' padding (2) everywhere.
    32x32 (ours): the same layers, every feature map half the side (E ends on 2x2, G starts at 4x4).
    E and G (with BatchNorm) get the zoo's DCGAN-style N(0, 0.02) weights, the FC discriminator PyTorch's
    default, as Table 3's nets (the paper states no initialisation).
    """
    if image_size not in (32, 64):
        raise UnsupportedShapeError(f"ivaae_conv_nets: image_size must be 32 or 64, got {image_size}; "
                                    f"{IVAAE_SUPPORTED_SHAPES_HELP}")
    widths = IVAAE_CONV_WIDTHS
    body_layers: list[nn.Module] = []
    for cin, cout in zip((channels, *widths), widths):
        body_layers += _conv_block(cin, cout, 5, 2, 2, True, nn.ReLU())
    end = image_size // 16  # E's last map: 4x4 at 64x64
    encoder = DeterministicEncoder(nn.Sequential(*body_layers, nn.Flatten()),
                                   nn.Linear(widths[-1] * end * end, latent_dim))
    start = image_size // 8  # G's first map: 8x8 at 64x64
    generator_layers: list[nn.Module] = [nn.Linear(latent_dim, widths[-1] * start * start),
                                         Reshape(widths[-1], start, start)]
    reversed_widths = widths[::-1]  # 1024, 512, 256, 128
    for cin, cout in zip(reversed_widths, reversed_widths[1:]):
        generator_layers += _upsampling_block(cin, cout, True, nn.ReLU())
    generator_layers += [nn.ConvTranspose2d(widths[0], channels, 5, 1, 2), nn.Tanh()]
    generator = nn.Sequential(*generator_layers)
    discriminator = mlp([latent_dim, 512, 512, 512, 512, num_classes]) if num_classes else None
    for net in (encoder, generator):
        init_normal(net)
    return IVAAENets(encoder, generator, discriminator)


def ivaae_toy_nets(data_dim: int, latent_dim: int, num_classes: int | None = None, hidden_dim: int = 128) -> IVAAENets:
    """MLPs for vector data (ours: the paper has no vector experiment), Table 3's shape with
    ``hidden_dim`` units: two hidden ReLU layers in E, G and D; G has no output activation."""
    encoder = DeterministicEncoder(mlp([data_dim, hidden_dim, hidden_dim], final_activation=True),
                                   nn.Linear(hidden_dim, latent_dim))
    generator = mlp([latent_dim, hidden_dim, hidden_dim, data_dim])
    discriminator = mlp([latent_dim, hidden_dim, hidden_dim, num_classes]) if num_classes else None
    return IVAAENets(encoder, generator, discriminator)


def ivaae_nets(image_shape: Sequence[int], latent_dim: int, num_classes: int | None = None,
               hidden_dim: int = 128) -> IVAAENets:
    """The ivaae.txt networks for ``image_shape``: Table 3 (fully connected) for one-channel images,
    Table 4 (convolutional) for colour images, MLPs for vectors. ``num_classes``: outputs of the latent
    discriminator (t + 1); None builds none. Unsupported shapes raise :class:`UnsupportedShapeError`."""
    shape = tuple(int(s) for s in image_shape)
    if latent_dim <= 0:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    if num_classes is not None and num_classes < 2:
        raise ValueError(f"num_classes must be >= 2 or None, got {num_classes}")
    if len(shape) == 1:
        return ivaae_toy_nets(shape[0], latent_dim, num_classes, hidden_dim)
    if len(shape) == 3 and shape[1] == shape[2]:
        channels, size = shape[0], shape[1]
        if channels == 1 and size in (28, 64):
            return ivaae_fc_nets(shape, latent_dim, num_classes)
        if channels > 1 and size in (32, 64):
            return ivaae_conv_nets(channels, size, latent_dim, num_classes)
    raise UnsupportedShapeError(f"no IVAAE network for data of shape {shape}; {IVAAE_SUPPORTED_SHAPES_HELP}")


def ivaae_latent_dim(image_shape: Sequence[int]) -> int:
    """ivaae.txt §4's latent sizes: 16 for MNIST (one-channel images), 128 for CIFAR-10 (colour images;
    CelebA's 64 needs --model.latent_dim 64); 2 for vectors (ours)."""
    shape = tuple(image_shape)
    if len(shape) == 1:
        return 2
    return 16 if shape[0] == 1 else 128
