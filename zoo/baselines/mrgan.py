"""MRGAN: Mode Regularized GAN (Che et al. 2016, ICLR 2017), in its manifold-diffusion form (MDGAN).

The 'MRGAN' baseline of ivgan.txt Table 1 (and of its Figure 5 curves). Four networks: a generator G,
an encoder E (x -> z), a manifold discriminator D_M and a diffusion discriminator D_D. We implement
the manifold-diffusion training of Che et al. §3.3, Algorithm 1 of their Appendix A, one iteration
per batch x, in this order:

    manifold step    D_M step   max  log D_M(x) + log(1 - D_M(G(E(x))))
                     G, E step  min  lam1 d(x, G(E(x))) - lam2 log D_M(G(E(x)))
    diffusion step   D_D step   max  log D_D(G(E(x))) + log(1 - D_D(G(z)))
                     G step     min  -log D_D(G(z))

with d the pixel-wise squared l2 distance (§3.1), here per element (:func:`zoo.losses.l2_reconstruction`).
Che et al. is not among the zoo's paper texts: the equations above are written from the published paper
as we know it (§3.1 T_G / T_E, §3.3 and the MDGAN pseudo-code of Appendix A).

Paper readings:
- Sign of the mode regulariser. Algorithm 1 updates G by gradient *ascent* on
  ``lambda log D_1(G(E(x))) - ||x - G(E(x))||^2``: G (and E, trained on the same regulariser as T_E
  of §3.1) makes reconstructions look real to D_M while staying close to x. We minimise the negation.
  The loss of §3.1 as printed, ``lam1 d + lam2 log D(G(E(x)))``, minimised literally, would push
  reconstructions *off* the data manifold, against the paper's own argument (§3.1-3.2) and Algorithm 1;
  the official IVGAN repository's MRGAN scripts copy that printed sign (``lam1 * L1 - lam2 *
  BCE(D(G(E(x))), 1)``, i.e. ``+ lam2 log D``), so ours is deliberately not the IVGAN code here.
- The diffusion discriminator separates G(E(x)) (as 'real') from G(z): in §3.3's diffusion step D_2 is
  trained between the distributions G(z) and G(E(x)), both on the generation manifold once the
  manifold step has matched it to the data, and G maximises log D_2(G(z)). ``diffusion_real="data"`` gives D_D the data x
  instead (the Reg-GAN-like reading).
- Algorithm 1 weighs d by 1 and log D by lambda; ivgan.txt Table 5 gives MRGAN one extra value,
  'lambda = 0.01', read here as both weights, lam1 = lam2 = 0.01 (also the values of common public
  MRGAN re-implementations). Each step has its own Adam optimiser, so only the ratio lam2 / lam1
  matters for the G, E step.
- G is updated by both steps; as two separate updates in Algorithm 1, each with its own Adam moments
  (like the IVGAN trunk, :mod:`zoo.ivgan`). E's learning rate is not in Table 5: default lr_g.
- The G and E losses are in the non-saturating form -log D (on logits), as Algorithm 1's G updates are.
- The second minibatch of the diffusion step is the iteration's batch x again; G(E(x)) is recomputed
  with the G and E of the manifold step.

Defaults: ivgan.txt Table 5 row MRGAN, Adam(lr_D = lr_G = 2e-4, betas 0.5, 0.999), batch 64,
lambda = 0.01; networks ivgan.txt Table 4 (both discriminators are Table 4's D; E is Table 4's E).
Che et al. tuned their regulariser weights per dataset; the zoo's defaults are the comparison's (Table 5).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, check_lr_decay, frozen, with_lr_decay
from zoo.baselines.gan import check_adam, default_latent_dim
from zoo.nets.gan_baselines import baseline_discriminator, gan_baseline_nets

DIFFUSION_REAL = ("reconstruction", "data")


class MRGAN(GenerativeModule):
    """Mode Regularized GAN, manifold-diffusion training (Che et al. 2016, Appendix A Algorithm 1).

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I). Default: 100 for images (ivgan.txt §4), 2 for vectors.
        lam1: weight of the reconstruction distance d(x, G(E(x))) (ivgan.txt Table 5: 0.01).
        lam2: weight of the manifold adversarial term -log D_M(G(E(x))) (Table 5: 0.01).
        lr_d: Adam learning rate of both discriminators (Table 5: 2e-4).
        lr_g: Adam learning rate of G, in both steps (Table 5: 2e-4).
        lr_e: Adam learning rate of E (not in Table 5; default ``lr_g``).
        beta1, beta2: Adam betas (Table 5: 0.5, 0.999).
        diffusion_real: what D_D takes as real: ``"reconstruction"`` G(E(x)) (Che et al. §3.3) or ``"data"`` x.
        lr_decay: ``"none"`` or ``"inverse_sqrt"`` (AIM's alpha / sqrt(epoch), for the grid25 config).
        hidden_dim: width of the MLPs for vector data (AIM's toy nets: 128); ignored for images.
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam1: float = 0.01,
        lam2: float = 0.01,
        lr_d: float = 2e-4,
        lr_g: float = 2e-4,
        lr_e: float | None = None,
        beta1: float = 0.5,
        beta2: float = 0.999,
        diffusion_real: str = "reconstruction",
        lr_decay: str = "none",
        hidden_dim: int = 128,
    ) -> None:
        shape = as_shape(image_shape)
        super().__init__(shape, default_latent_dim(shape) if latent_dim is None else latent_dim)
        for name, value in (("lam1", lam1), ("lam2", lam2)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        lr_e = lr_g if lr_e is None else lr_e
        check_adam({"lr_d": lr_d, "lr_g": lr_g, "lr_e": lr_e}, beta1, beta2)
        if diffusion_real not in DIFFUSION_REAL:
            raise ValueError(f"diffusion_real must be one of {DIFFUSION_REAL}, got {diffusion_real!r}")
        check_lr_decay(lr_decay)
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")
        self.save_hyperparameters()
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim, lr_e=float(lr_e))
        self.lam1 = float(lam1)
        self.lam2 = float(lam2)

        nets = gan_baseline_nets(self.image_shape, self.latent_dim, hidden_dim, with_encoder=True)
        self.generator = nets.generator
        self.encoder = nets.encoder
        self.manifold_discriminator = nets.discriminator  # D_M (D_1 of Algorithm 1), logits
        self.diffusion_discriminator = baseline_discriminator(self.image_shape, hidden_dim)  # D_D (D_2), logits

    # ------------------------------------------------------------------ the losses of Algorithm 1
    def manifold_loss(self, x: Tensor, x_reconstructed: Tensor, reconstruction_logits: Tensor) -> Tensor:
        """G and E's manifold-step loss: ``lam1 d(x, G(E(x))) - lam2 log D_M(G(E(x)))``, batch means.

        The negation of Algorithm 1's ascent direction ``lambda log D_1(G(E(x))) - ||x - G(E(x))||^2``.
        """
        return (self.lam1 * losses.l2_reconstruction(x_reconstructed, x)
                + self.lam2 * losses.gan_generator_loss(reconstruction_logits))

    @staticmethod
    def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """Either discriminator: ``-E log D(real) - E log(1 - D(fake))``."""
        return losses.gan_discriminator_loss(real_logits, fake_logits)

    @staticmethod
    def diffusion_loss(sample_logits: Tensor) -> Tensor:
        """G's diffusion-step loss ``-E log D_D(G(z))`` (Algorithm 1: ascent on log D_2(G(z)))."""
        return losses.gan_generator_loss(sample_logits)

    # ------------------------------------------------------------------ training: Algorithm 1
    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_dm, opt_ge, opt_dd, opt_g = self.optimizers()
        x = batch_data(batch)
        n = x.size(0)

        # Manifold step. G(E(x)) keeps its graph for the G, E step (G and E do not change before it).
        x_reconstructed = self.generator(self.encoder(x))
        loss_dm = self.discriminator_loss(self.manifold_discriminator(x),
                                          self.manifold_discriminator(x_reconstructed.detach()))
        self.update(opt_dm, loss_dm)
        with frozen(self.manifold_discriminator):
            loss_manifold = self.manifold_loss(x, x_reconstructed, self.manifold_discriminator(x_reconstructed))
            self.update(opt_ge, loss_manifold)

        # Diffusion step, with the G and E just updated.
        x_sample = self.generator(self.sample_prior(n))
        if self.hparams.diffusion_real == "reconstruction":
            with torch.no_grad():
                real = self.generator(self.encoder(x))
        else:
            real = x
        loss_dd = self.discriminator_loss(self.diffusion_discriminator(real),
                                          self.diffusion_discriminator(x_sample.detach()))
        self.update(opt_dd, loss_dd)
        with frozen(self.diffusion_discriminator):
            loss_diffusion = self.diffusion_loss(self.diffusion_discriminator(x_sample))
            self.update(opt_g, loss_diffusion)

        self.log_losses({"manifold_discriminator": loss_dm, "manifold": loss_manifold,
                         "diffusion_discriminator": loss_dd, "diffusion": loss_diffusion,
                         "reconstruction_l2": losses.l2_reconstruction(x_reconstructed.detach(), x)}, batch_size=n)

    def configure_optimizers(self):
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        opt_dm = torch.optim.Adam(self.manifold_discriminator.parameters(), lr=hp.lr_d, betas=betas)
        opt_ge = torch.optim.Adam([{"params": self.generator.parameters(), "lr": hp.lr_g},
                                   {"params": self.encoder.parameters(), "lr": hp.lr_e}], betas=betas)
        opt_dd = torch.optim.Adam(self.diffusion_discriminator.parameters(), lr=hp.lr_d, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr_g, betas=betas)
        return with_lr_decay([opt_dm, opt_ge, opt_dd, opt_g], hp.lr_decay)
