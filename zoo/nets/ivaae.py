"""ivaae.txt Appendix A.2: the networks of IVAAE and of its baselines WAE-GAN (= deterministic AAE) and
WAE-MMD, which §4 trains on the same architecture ('The only difference in WAE and IVAAE's model
structure is the output size of discriminator'): Table 3 (MNIST, fully connected) and Table 4 (CelebA /
CIFAR-10, convolutional), our 28x28 / 32x32 variants and MLPs for vector data. Every encoder is
deterministic (§4: 'We use deterministic models only'); the latent discriminator has t + 1 outputs
(softmax in the loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from zoo.nets.blocks import Reshape, UnsupportedShapeError, conv_block, init_normal, mlp, upsampling_block


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
        body_layers += conv_block(cin, cout, 5, 2, 2, True, nn.ReLU())
    end = image_size // 16  # E's last map: 4x4 at 64x64
    encoder = DeterministicEncoder(nn.Sequential(*body_layers, nn.Flatten()),
                                   nn.Linear(widths[-1] * end * end, latent_dim))
    start = image_size // 8  # G's first map: 8x8 at 64x64
    generator_layers: list[nn.Module] = [nn.Linear(latent_dim, widths[-1] * start * start),
                                         Reshape(widths[-1], start, start)]
    reversed_widths = widths[::-1]  # 1024, 512, 256, 128
    for cin, cout in zip(reversed_widths, reversed_widths[1:]):
        generator_layers += upsampling_block(cin, cout, True, nn.ReLU())
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
