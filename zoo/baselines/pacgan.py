"""PacGAN (Lin et al. 2018, 'PacGAN: The power of two samples in generative adversarial networks').

The 'PacDCGAN' row of ivgan.txt Table 2 (stacked MNIST, copied from Lin et al.) and an extra grid row.
DCGAN with a packed discriminator: D scores m samples at once, concatenated along the channel axis
(the feature axis for 2-D data), all real or all fake (:class:`zoo.nets.PackedDiscriminator`)::

    for each batch x of n = k m samples:       z ~ N(0, I), x~ = G(z)
        D step  on -E log D(x_1, ..., x_m) - E log(1 - D(x~_1, ..., x~_m))    (n/m packs of each)
        G step  on -E log D(x~_1, ..., x~_m)
"""

from __future__ import annotations

from collections.abc import Sequence

from zoo.baselines.gan import DCGAN
from zoo.nets.gan_baselines import packed_discriminator


class PacGAN(DCGAN):
    """PacGAN (Lin et al. 2018): DCGAN whose discriminator sees ``packing`` samples per input.

    Lin et al. §3: D maps m samples, packed together, to one decision; the packs hold independent
    samples, all from the data or all from G. Here D is the shared baseline D with an input m times as wide
    (images: m C channels; vectors: m D features), and a batch of n is read as n / m consecutive packs,
    so n must be a multiple of m (a ValueError says so). G, the losses (binary cross entropy, the
    non-saturating G loss) and the update plan are :class:`zoo.DCGAN`'s.

    Defaults: m = 2 (Lin et al.'s PacGAN2); their stacked-MNIST PacDCGAN row uses m = 4
    (configs/baselines/pacgan_stacked_mnist.yaml). Adam as :class:`zoo.DCGAN`.

    Args:
        packing: m, samples per discriminator input (>= 1; 1 is DCGAN).
        (others as :class:`zoo.DCGAN`)
    """

    def __init__(self, image_shape: Sequence[int] = (2,), latent_dim: int | None = None, lr_d: float = 1e-4,
                 lr_g: float = 1e-4, beta1: float = 0.5, beta2: float = 0.999, norm: str = "batch",
                 lr_decay: str = "none", hidden_dim: int = 128, packing: int = 2) -> None:
        super().__init__(image_shape, latent_dim, lr_d, lr_g, beta1, beta2, norm, lr_decay, hidden_dim)
        self.discriminator = packed_discriminator(self.image_shape, packing, hidden_dim, norm)
        self.packing = self.discriminator.packing
