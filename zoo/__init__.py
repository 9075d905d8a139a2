"""The zoo's models. Importing this package registers every model class with the CLI."""

from zoo.aim import AIM, AIMMinus, DALI, DALIF
from zoo.alpha_gan import AlphaGAN, AlphaGANEmpiricalKL
from zoo import baselines
from zoo.base import GenerativeModule, load_checkpoint
from zoo.baselines import *  # noqa: F403  (every baseline is zoo.<Name>, e.g. zoo.DCGAN)
from zoo.checkpoint import export_checkpoint
from zoo.ivgan import IVDCGAN, IVGAN, IVLSGAN
from zoo.ivaae import IVAAE
from zoo.version import __version__

__all__ = [
    "AIM",
    "AIMMinus",
    "AlphaGAN",
    "AlphaGANEmpiricalKL",
    "DALI",
    "DALIF",
    "IVAAE",
    "GenerativeModule",
    "IVDCGAN",
    "IVLSGAN",
    "__version__",
    "export_checkpoint",
    "load_checkpoint",
    *baselines.__all__,
]
