"""IVAAE's baselines (ivaae.txt §4, Tables 1-2): WAE-GAN (= the deterministic AAE) and WAE-MMD.

Wasserstein auto-encoders (Tolstikhin et al. 2017) regularise a deterministic auto-encoder's codes
towards the prior with a latent penalty: an adversarial one (WAE-GAN, Algorithm 1: a latent
discriminator, 'it generalizes the AAE algorithm' of Makhzani et al.) or a kernel MMD (WAE-MMD,
Algorithm 2). ivaae.txt §4 trains them on IVAAE's networks ('The only difference in WAE and IVAAE's
model structure is the output size of discriminator', Tables 3-4) with the same settings ('For all
datasets and models, we set hyperparameters as follows'):

    WAEGAN  IVAAE with t = 1: a 2-way latent discriminator (encoded codes vs prior samples, the only
            bridges there are for t = 1), mu1 = 4/(t+1) = 2, mu2 = 2/(t+1) = 1, and IVAAE's default
            non-saturating encoder loss, which for t = 1 is the -log D(E(x)) of WAE's Algorithm 1 and of
            the AAE of ivaae.txt Figure 3.
    AAE     the same model under the name ivaae.txt §2 uses for it (Figures 2-3).
    WAEMMD  E and G of the same networks; E's latent term is the inverse-multiquadratic MMD between
            the codes and prior samples (WAE §4, Algorithm 2), weight 10 and summed over the kernel
            scales of the WAE code; no discriminator.

The reconstruction cost of all three is WAE's, 0.05 ||x - y||_2^2 per sample as the WAE code computes
it (:meth:`zoo.ivaae.IVAAE.reconstruction_loss`).

Loss scales: with eq. (1)'s mean over k = 0, 1 and mu2 = 1, E's adversarial term is half WAE's
lambda = 1 term (the k = 1 class, prior samples, carries no gradient to E); D's term is exactly WAE's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, frozen
from zoo.ivaae import IVAAE, LR_DECAY_FACTORS, LR_MILESTONES, check_schedule, check_training_arguments, with_step_decay
from zoo.nets.ivaae import ivaae_latent_dim, ivaae_nets


WAE_KERNEL_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # mmd_penalty of the WAE code (wae.py)


class WAEGAN(IVAAE):
    """WAE-GAN (Tolstikhin et al. 2017, Algorithm 1) = deterministic AAE: :class:`~zoo.ivaae.IVAAE`
    with t = 1, i.e. a 2-way latent discriminator on encoded codes (class 0) vs prior samples (class 1).

    Training is IVAAE's Algorithm 1 (D, then G on lambda L_recon, then E on lambda L_recon + mu2 times
    the adversarial term) on IVAAE's networks, with ivaae.txt §4's settings for all models.

    Args:
        image_shape, latent_dim, lam, lr_e, lr_g, lr_d, beta1, beta2, lr_milestones, lr_decay_factors,
        hidden_dim: as :class:`~zoo.ivaae.IVAAE` (latent size 16 / 128 / 2, lambda 1, learning rates
            1e-3 / 1e-3 / 5e-4 with the x0.5, x0.2, x0.1 steps after 30, 50, 100 epochs).
        mu1: weight of D's cross entropy. Default 4 / (t + 1) = 2 (§4), which makes D's loss WAE's
            lambda = 1 objective -[mean log D(z) + mean log(1 - D(E(x)))].
        mu2: weight of E's adversarial term. Default 2 / (t + 1) = 1 (§4).
        encoder_loss: ``non_saturating`` (default): -log D_prior(E(x)), WAE's Algorithm 1 and the AAE
            encoder loss of ivaae.txt Figure 3; ``minimax``: log(1 - D_prior(E(x))), eq. (1) with t = 1.
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam: float = 1.0,
        mu1: float | None = None,
        mu2: float | None = None,
        encoder_loss: str = "non_saturating",
        lr_e: float = 1e-3,
        lr_g: float = 1e-3,
        lr_d: float = 5e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_milestones: Sequence[int] = LR_MILESTONES,
        lr_decay_factors: Sequence[float] = LR_DECAY_FACTORS,
        hidden_dim: int = 128,
    ) -> None:
        if latent_dim is None:
            latent_dim = ivaae_latent_dim(as_shape(image_shape))  # 2 for vectors, as WAE-MMD
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, bridge="blockwise", t=1, lam=lam, mu1=mu1,
                         mu2=mu2, encoder_loss=encoder_loss, lr_e=lr_e, lr_g=lr_g, lr_d=lr_d, beta1=beta1,
                         beta2=beta2, lr_milestones=lr_milestones, lr_decay_factors=lr_decay_factors,
                         hidden_dim=hidden_dim)


class AAE(WAEGAN):
    """The deterministic adversarial auto-encoder (Makhzani et al. 2015) as ivaae.txt §2 trains it
    (Figures 2-3: 'AAE', compared with IVAAE 'with the rest of structure all the same'): the same model
    and defaults as :class:`WAEGAN`, under its own name."""


class WAEMMD(GenerativeModule):
    """WAE-MMD (Tolstikhin et al. 2017, Algorithm 2) on IVAAE's encoder and decoder (ivaae.txt §4).

    Per iteration, in IVAAE's order without D: G descends lambda * L_recon, then E descends
    lambda * L_recon + mmd_weight * MMD_k(P_Z, Q_Z) with the unbiased inverse-multiquadratic estimate
    between the batch's codes E(x_j) and as many prior samples z_j ~ N(0, I)
    (:func:`zoo.losses.inverse_multiquadratic_mmd`, C = 2 d).

    Args:
        image_shape, latent_dim, lam, lr_e, lr_g, beta1, beta2, lr_milestones, lr_decay_factors,
        hidden_dim: as :class:`~zoo.ivaae.IVAAE` (§4's settings for all models).
        mmd_weight: WAE's lambda, the weight of the MMD term against the same reconstruction cost
            (10: WAE's MNIST and CelebA setting, configs.py of the WAE code).
        kernel_scales: multiples of C = 2 d at which the IMQ MMD is computed and summed; default the WAE
            code's (0.1, 0.2, 0.5, 1, 2, 5, 10) (its paper describes the single C = 2 d, i.e. (1.0,)).
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam: float = 1.0,
        mmd_weight: float = 10.0,
        kernel_scales: Sequence[float] = WAE_KERNEL_SCALES,
        lr_e: float = 1e-3,
        lr_g: float = 1e-3,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_milestones: Sequence[int] = LR_MILESTONES,
        lr_decay_factors: Sequence[float] = LR_DECAY_FACTORS,
        hidden_dim: int = 128,
    ) -> None:
        shape = as_shape(image_shape)
        super().__init__(shape, ivaae_latent_dim(shape) if latent_dim is None else latent_dim)
        check_training_arguments(lam, {"lr_e": lr_e, "lr_g": lr_g}, beta1, beta2, hidden_dim)
        if mmd_weight < 0:
            raise ValueError(f"mmd_weight must be >= 0, got {mmd_weight}")
        if not kernel_scales or any(not s > 0 for s in kernel_scales):
            raise ValueError(f"kernel_scales must be a non-empty list of positive numbers, got {kernel_scales!r}")
        check_schedule(lr_milestones, lr_decay_factors)
        self.save_hyperparameters()
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim,
                            kernel_scales=[float(s) for s in kernel_scales],
                            lr_milestones=[int(m) for m in lr_milestones],
                            lr_decay_factors=[float(f) for f in lr_decay_factors])
        self.lam = float(lam)
        self.mmd_weight = float(mmd_weight)
        self.kernel_scales = tuple(float(s) for s in kernel_scales)
        nets = ivaae_nets(self.image_shape, self.latent_dim, num_classes=None, hidden_dim=hidden_dim)
        self.encoder = nets.encoder
        self.generator = nets.generator

    def reconstruction_loss(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """IVAAE's L_recon (:meth:`zoo.ivaae.IVAAE.reconstruction_loss`): WAE's 0.05 ||x - y||_2^2."""
        return losses.wae_squared_l2_cost(x_hat, x)

    def mmd(self, prior_codes: Tensor, codes: Tensor) -> Tensor:
        """MMD_k(P_Z, Q_Z) of WAE's Algorithm 2 with the inverse multiquadratic kernel."""
        return losses.inverse_multiquadratic_mmd(prior_codes, codes, self.kernel_scales)

    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_g, opt_e = self.optimizers()
        x = batch_data(batch)
        n = x.size(0)
        z = self.sample_prior(n)  # z_j ~ P_Z
        z_hat = self.encoder(x)  # z~_j = E(x_j), deterministic

        loss_g = self.lam * self.reconstruction_loss(self.generator(z_hat.detach()), x)
        self.update(opt_g, loss_g)

        with frozen(self.generator):
            recon = self.reconstruction_loss(self.generator(z_hat), x)
            mmd = self.mmd(z, z_hat)
            loss_e = self.lam * recon + self.mmd_weight * mmd
            self.update(opt_e, loss_e)

        self.log_losses({"generator": loss_g, "encoder": loss_e, "reconstruction": recon, "mmd": mmd}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        optimizers = [
            torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas),
            torch.optim.Adam(self.encoder.parameters(), lr=self.hparams.lr_e, betas=betas),
        ]
        return with_step_decay(optimizers, self.hparams.lr_milestones, self.hparams.lr_decay_factors)

    encoder_features = IVAAE.encoder_features  # the same ivaae_nets encoder, so the same probe features
