"""Inference-GAN baselines (zoo.baselines.ali, zoo.baselines.veegan, zoo.baselines.age): ALI / ALICE /
VEEGAN on AIM's networks (aim.txt Tables 1-4 and toy_nets, :mod:`zoo.nets.aim`), so aim.txt Tables 1-2's
comparison runs on identical generators and discriminator trunks; AGE on alpha-GAN's (H.4,
:mod:`zoo.nets.alpha_gan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from zoo.nets.aim import adversarial_inference_nets
from zoo.nets.alpha_gan import alpha_gan_nets
from zoo.nets.blocks import TrunkEncoder, init_normal, mlp


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
