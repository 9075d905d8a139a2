"""The baselines the papers compare against, trained by the same code on the same networks.

One short file per family; each class names its source paper and its authors' defaults.
Importing this package registers every baseline with the CLI (``--model DCGAN``, ...).
"""

from zoo.base import GenerativeModule

# IVAAE's baselines (ivaae.txt §4): WAE-GAN (= deterministic AAE), WAE-MMD
from zoo.baselines.wae import AAE, WAEGAN, WAEMMD

# GAN baselines on IVGAN's Table 4 networks (ivgan.txt Table 1, alpha_gan.txt §5): DCGAN, LSGAN, WGANGP, MRGAN
from zoo.baselines.gan import DCGAN, LSGAN, WGANGP
from zoo.baselines.mrgan import MRGAN

# The comparison systems of the grid and stacked-MNIST tables (aim.txt / dali.txt Table 2, ivgan.txt Table 2):
# PacGAN, SN-GAN, Unrolled GAN, VAE/GAN
from zoo.baselines.pacgan import PacGAN
from zoo.baselines.sngan import SNGAN
from zoo.baselines.unrolled import UnrolledGAN
from zoo.baselines.vaegan import VAEGAN

# Inference-GAN baselines on AIM's networks (aim.txt Tables 1-2): ALI, ALICE, VEEGAN; AGE (alpha_gan.txt)
from zoo.baselines.age import AGE
from zoo.baselines.ali import ALI, ALICE
from zoo.baselines.veegan import VEEGAN

__all__ = sorted(
    name for name, value in list(globals().items())
    if isinstance(value, type) and issubclass(value, GenerativeModule) and value is not GenerativeModule
)
