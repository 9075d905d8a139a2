"""Networks built from the papers' architecture tables, one builder per table, one module per paper family.

Images are in [-1, 1] everywhere in the zoo, so generators end in ``tanh``. aim.txt Table 3 ends
the MNIST generator in a sigmoid on [0, 1] data; ``tanh(a) = 2 sigmoid(2a) - 1``, so the two are
the same model up to an affine change of the data scale.

Each model module imports the networks of its own paper, so work on one paper touches two files
(e.g. ``zoo/ivgan.py`` and ``zoo/nets/ivgan.py``):

- :mod:`zoo.nets.blocks`: shared building blocks (mlp, Maxout, GaussianHead, Reshape, conv blocks,
  init_normal, count_parameters, UnsupportedShapeError);
- :mod:`zoo.nets.aim`: AIM / DALI, aim.txt Tables 3-4, the toy MLPs and the authors' official toy nets;
- :mod:`zoo.nets.alpha_gan`: alpha-GAN, alpha_gan.txt H.4 (ColorMNIST Tables 3-4, Gulrajani et al.'s DCGAN nets);
- :mod:`zoo.nets.ivgan`: IVGAN, ivgan.txt Table 4;
- :mod:`zoo.nets.ivaae`: IVAAE and WAE-GAN / AAE / WAE-MMD, ivaae.txt Tables 3-4;
- :mod:`zoo.nets.gan_baselines`: DCGAN, LSGAN, WGAN-GP, MRGAN on ivgan.txt Table 4 (and toy MLPs), PacGAN's packing,
  VAE/GAN's Gaussian encoder and feature-exposing D;
- :mod:`zoo.nets.inference_baselines`: ALI, ALICE, VEEGAN on AIM's networks; AGE on alpha-GAN's.

A paper's module imports only :mod:`zoo.nets.blocks`; a baselines module also imports the paper module
whose networks it reuses (tests/test_nets_layout.py keeps it so). This package re-exports every public
name, so ``from zoo.nets import ivgan_nets`` works as it did when the networks were one file.
"""

from zoo.nets.aim import (
    OFFICIAL_TOY_WIDTHS,
    SUPPORTED_SHAPES_HELP,
    TOY_ARCHS,
    AdversarialInferenceNets,
    FeatureEncoder,
    adversarial_inference_nets,
    check_toy_arch,
    dcgan_nets,
    mnist_nets,
    official_toy_nets,
    paper_latent_dim,
    toy_nets,
)
from zoo.nets.alpha_gan import (
    ALPHA_GAN_SHAPES_HELP,
    AlphaGANNets,
    alpha_gan_latent_dim,
    alpha_gan_nets,
    alpha_gan_toy_nets,
    code_discriminator_mlp,
    colormnist_nets,
    wgan_gp_dcgan_nets,
)
from zoo.nets.blocks import (
    GaussianHead,
    Maxout,
    Reshape,
    UnsupportedShapeError,
    conv_block,
    count_parameters,
    init_normal,
    mlp,
    upsampling_block,
)
from zoo.nets.gan_baselines import (
    DISCRIMINATOR_NORMS,
    GANBaselineNets,
    PackedDiscriminator,
    baseline_discriminator,
    feature_discriminator,
    gan_baseline_nets,
    gaussian_encoder,
    packed_discriminator,
    vaegan_nets,
)
from zoo.nets.inference_baselines import (
    JOINT_WIDTH_IMAGES,
    AGENets,
    JointDiscriminator,
    JointInferenceNets,
    SphereProjection,
    TrunkEncoder,
    age_nets,
    joint_inference_nets,
)
from zoo.nets.ivaae import (
    IVAAE_CONV_WIDTHS,
    IVAAE_SUPPORTED_SHAPES_HELP,
    DeterministicEncoder,
    IVAAENets,
    ivaae_conv_nets,
    ivaae_fc_nets,
    ivaae_latent_dim,
    ivaae_nets,
    ivaae_toy_nets,
)
from zoo.nets.ivgan import (
    IVGAN_CONV_WIDTHS,
    IVGAN_SUPPORTED_SHAPES_HELP,
    IVGANNets,
    ivgan_conv_nets,
    ivgan_nets,
    ivgan_toy_nets,
)

__all__ = [
    # blocks
    "GaussianHead", "Maxout", "Reshape", "UnsupportedShapeError", "conv_block", "count_parameters", "init_normal",
    "mlp", "upsampling_block",
    # aim
    "OFFICIAL_TOY_WIDTHS", "SUPPORTED_SHAPES_HELP", "TOY_ARCHS", "AdversarialInferenceNets", "FeatureEncoder",
    "adversarial_inference_nets", "check_toy_arch", "dcgan_nets", "mnist_nets", "official_toy_nets",
    "paper_latent_dim", "toy_nets",
    # alpha_gan
    "ALPHA_GAN_SHAPES_HELP", "AlphaGANNets", "alpha_gan_latent_dim", "alpha_gan_nets", "alpha_gan_toy_nets",
    "code_discriminator_mlp", "colormnist_nets", "wgan_gp_dcgan_nets",
    # ivgan
    "IVGAN_CONV_WIDTHS", "IVGAN_SUPPORTED_SHAPES_HELP", "IVGANNets", "ivgan_conv_nets", "ivgan_nets",
    "ivgan_toy_nets",
    # ivaae
    "IVAAE_CONV_WIDTHS", "IVAAE_SUPPORTED_SHAPES_HELP", "DeterministicEncoder", "IVAAENets", "ivaae_conv_nets",
    "ivaae_fc_nets", "ivaae_latent_dim", "ivaae_nets", "ivaae_toy_nets",
    # gan_baselines
    "DISCRIMINATOR_NORMS", "GANBaselineNets", "PackedDiscriminator", "baseline_discriminator",
    "feature_discriminator", "gan_baseline_nets", "gaussian_encoder", "packed_discriminator", "vaegan_nets",
    # inference_baselines
    "JOINT_WIDTH_IMAGES", "AGENets", "JointDiscriminator", "JointInferenceNets", "SphereProjection", "TrunkEncoder",
    "age_nets", "joint_inference_nets",
]
