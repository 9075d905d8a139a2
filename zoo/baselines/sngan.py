"""SN-GAN (Miyato et al. 2018, 'Spectral Normalization for Generative Adversarial Networks').

The 'SN-GAN' row of dali.txt §4.3 Table 2 (grid). Same networks as the zoo's other GAN baselines
(:func:`zoo.nets.gan_baseline_nets`), with every weight layer of D spectrally normalised, and the hinge
loss; the update plan is :class:`zoo.baselines.gan.TwoPlayerGAN`'s::

    for each batch x:                          z ~ N(0, I), x~ = G(z)
        D step  on E[max(0, 1 - D(x))] + E[max(0, 1 + D(x~))]     (eq. 16)
        G step  on -E[D(G(z))]                                    (eq. 17)
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from zoo import losses
from zoo.baselines.gan import TwoPlayerGAN


def spectrally_normalised(network: nn.Module) -> nn.Module:
    """``network`` with ``W / sigma(W)`` for the weight of every Linear and Conv layer (Miyato et al. §2.1),
    sigma estimated by one power iteration per training forward (their Algorithm 1). In place; returned."""
    layers = [m for m in network.modules() if isinstance(m, nn.Linear | nn.modules.conv._ConvNd)]
    for layer in layers:
        spectral_norm(layer)
    return network


class SNGAN(TwoPlayerGAN):
    """SN-GAN (Miyato et al. 2018): spectral normalisation on every D layer, and the hinge loss.

    D's loss is the hinge ``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]`` (their eq. 16), G's
    ``-E[D(G(z))]`` (eq. 17); D's output is a raw score. Every Linear / Conv weight of D is divided by
    its spectral norm (``torch.nn.utils.parametrizations.spectral_norm``, one power iteration per
    forward, their Algorithm 1). One D step then one G step on the same z per iteration (n_dis = 1).

    Defaults: Adam(lr 2e-4, betas 0.5, 0.999), n_dis = 1: setting C of their Table 1 (Radford et al.'s
    DCGAN settings). D has no normalisation layer besides SN (``norm="none"``: their D has none);
    ``norm="batch"`` or ``"layer"`` keeps Table 4's / the WGAN-GP critic's layers under SN.

    Args: as :class:`zoo.DCGAN`.
    """

    def __init__(self, image_shape: Sequence[int] = (2,), latent_dim: int | None = None, lr_d: float = 2e-4,
                 lr_g: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999, norm: str = "none",
                 lr_decay: str = "none", hidden_dim: int = 128) -> None:
        super().__init__(image_shape, latent_dim, lr_d, lr_g, beta1, beta2, norm, lr_decay, hidden_dim)
        self.discriminator = spectrally_normalised(self.discriminator)

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.hinge_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.wasserstein_generator_loss(fake_scores)  # -E[D(G(z))], their eq. (17)
