"""alpha-GAN: variational auto-encoding GANs (Rosca et al. 2017), and its empirical-KL ablation.

Paper: ``alpha_gan.txt``. Four networks (§3): a generator G_theta, an encoder q_eta(z|x), a data
discriminator D_phi (real data vs reconstructions and samples) and a code discriminator C_omega
(prior codes vs encoded codes). The hybrid objective eq. (8) combines an l1 reconstruction term
(a Laplace likelihood) with the two density-ratio estimates; Appendix B Algorithm 1 minimises it
with one loss per player, in the order encoder (11), generator (13), discriminator (15), code
discriminator (17), with the non-saturating 'reverse KL' form R = -log D + log(1 - D) for the
generator and the encoder (§3 'Improved Techniques').

Models:
    AlphaGAN             Algorithm 1 with the code discriminator.
    AlphaGANEmpiricalKL  Appendix D: C_omega replaced by the batch estimate of KL[q(z|x) || p(z)]
                         of eq. (18), divided by the latent size; no code discriminator.

Hyper-parameters (Appendix H): Adam(beta1 0.5, beta2 0.9), batch 64, fixed learning rates from the
Table 2 sweeps, lambda from the H.1 sweeps, E and G updated twice per D / C update (§6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, frozen
from zoo.nets.alpha_gan import alpha_gan_latent_dim, alpha_gan_nets


class AlphaGAN(GenerativeModule):
    """alpha-GAN (alpha_gan.txt Appendix B, Algorithm 1).

    q_eta(z|x) is deterministic here, z^ = E(x) (``encode``): H.4's encoder has no noise input or
    variance head.

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I). Default: 50 for 28x28 images (the middle of the ColorMNIST
            sweep 10, 50, 75, H.4.1), 100 for 32x32 / 64x64 images (Figures 11-12: 'The latent size
            was 100'), 2 for vector data.
        lambda_encoder: weight of the data reconstruction loss for the encoder, eq. (11)
            (H.1 sweep 1, 5, 10, 50; no best value is reported, 10 is our default).
        lambda_generator: weight of the data reconstruction loss for the generator, eq. (13)
            (H.1 sweep 1, 5, 10, 50; default 10). The adversarial terms have weight 1.0 (H.1).
        lr_generator_encoder: Adam learning rate of G and of E (Table 2 'Generator/Encoder' row,
            sweep 1e-4, 5e-4; default 5e-4). G and E still have one optimiser each.
        lr_discriminator: Adam learning rate of D_phi (Table 2: 5e-4).
        lr_code_discriminator: Adam learning rate of C_omega (Table 2: 5e-4).
        beta1: Adam beta_1 (H: 0.5).
        beta2: Adam beta_2 (H: 0.9).
        generator_updates: encoder and generator updates per discriminator / code-discriminator
            update (§6: 'we update the encoder ... and the generator twice'; default 2).
        hidden_dim: width of the MLPs used for vector data (ignored for images).
        code_hidden_dim: width of C_omega's three hidden layers (H.4: 750).
    """

    has_encoder = True
    uses_code_discriminator: ClassVar[bool] = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lambda_encoder: float = 10.0,
        lambda_generator: float = 10.0,
        lr_generator_encoder: float = 5e-4,
        lr_discriminator: float = 5e-4,
        lr_code_discriminator: float = 5e-4,
        beta1: float = 0.5,
        beta2: float = 0.9,
        generator_updates: int = 2,
        hidden_dim: int = 128,
        code_hidden_dim: int = 750,
    ) -> None:
        latent_dim = alpha_gan_latent_dim(as_shape(image_shape)) if latent_dim is None else latent_dim
        super().__init__(image_shape, latent_dim)
        for name, value in (("lambda_encoder", lambda_encoder), ("lambda_generator", lambda_generator)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        for name, value in (("lr_generator_encoder", lr_generator_encoder), ("lr_discriminator", lr_discriminator),
                            ("lr_code_discriminator", lr_code_discriminator)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if isinstance(generator_updates, bool) or int(generator_updates) != generator_updates or generator_updates < 1:
            raise ValueError(f"generator_updates must be an integer >= 1, got {generator_updates!r}")
        for name, value in (("hidden_dim", hidden_dim), ("code_hidden_dim", code_hidden_dim)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        ignore = [] if self.uses_code_discriminator else ["lr_code_discriminator", "code_hidden_dim"]
        self.save_hyperparameters(ignore=ignore)
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim)
        self.lambda_encoder = float(lambda_encoder)
        self.lambda_generator = float(lambda_generator)
        self.generator_updates = int(generator_updates)

        nets = alpha_gan_nets(self.image_shape, self.latent_dim, hidden_dim,
                              code_hidden_dim if self.uses_code_discriminator else None)
        self.generator = nets.generator  # G_theta
        self.encoder = nets.encoder  # q_eta(z|x)
        self.discriminator = nets.discriminator  # D_phi, logits
        if self.uses_code_discriminator:
            self.code_discriminator = nets.code_discriminator  # C_omega, logits

    # ------------------------------------------------------------------ the losses of Algorithm 1
    def prior_loss(self, z_hat: Tensor) -> Tensor:
        """The encoder's prior-matching term: batch mean of R_C(z^) (Algorithm 1 line 4, eq. 11)."""
        return losses.reverse_kl_generator_loss(self.code_discriminator(z_hat))

    def encoder_loss(self, x: Tensor, x_hat: Tensor, z_hat: Tensor) -> Tensor:
        """Eq. (11): mean[lambda ||x - x^||_1 + R_C(z^)]. No data-discriminator term."""
        return self.lambda_encoder * losses.l1_reconstruction(x_hat, x) + self.prior_loss(z_hat)

    def generator_loss(self, x: Tensor, x_hat: Tensor, reconstruction_logits: Tensor, sample_logits: Tensor) -> Tensor:
        """Eq. (13): mean[lambda ||x - x^||_1 + R_D(x^)] + mean[R_D(G(z))], z ~ p(z)."""
        return (self.lambda_generator * losses.l1_reconstruction(x_hat, x)
                + losses.reverse_kl_generator_loss(reconstruction_logits)
                + losses.reverse_kl_generator_loss(sample_logits))

    def discriminator_loss(self, real_logits: Tensor, reconstruction_logits: Tensor, sample_logits: Tensor) -> Tensor:
        """Eq. (15): x ~ p*(x) real; reconstructions x^ and samples G(z) fake."""
        # (15), not (14): (14) weighs -log D(x) by 2, its approximation (15) by 1; Algorithm 1 minimises (15).
        return losses.alpha_gan_discriminator_loss(real_logits, reconstruction_logits, sample_logits)

    def code_discriminator_loss(self, prior_logits: Tensor, code_logits: Tensor) -> Tensor:
        """Eq. (17): z ~ p(z) real, encoded codes z^ fake."""
        return losses.gan_discriminator_loss(prior_logits, code_logits)

    # ------------------------------------------------------------------ training: Algorithm 1
    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_e, opt_g, opt_d, *opt_c = self.optimizers()
        x = batch_data(batch)  # x ~ p*(x)
        n = x.size(0)
        code_critic = (self.code_discriminator,) if self.uses_code_discriminator else ()

        # §6: E and G are updated `generator_updates` times (2 in the paper) per D / C update, in
        # rounds E, G, E, G on the same batch x. Every forward pass is redone after each step.
        for _ in range(self.generator_updates):
            # line 6: update eta by minimising (11); G and C are frozen, so only E gets gradients.
            with frozen(self.generator, *code_critic):
                z_hat = self.encoder(x)  # z^ ~ q_eta(z|x)
                x_hat = self.generator(z_hat)  # x^ = G_theta(z^)
                loss_e = self.encoder_loss(x, x_hat, z_hat)
                self.update(opt_e, loss_e)

            # line 7: update theta by minimising (13), with z^ from the just-updated encoder.
            with torch.no_grad():
                z_hat = self.encoder(x)
            z = self.sample_prior(n)  # z ~ p(z)
            with frozen(self.discriminator):
                x_hat = self.generator(z_hat)
                loss_g = self.generator_loss(x, x_hat, self.discriminator(x_hat), self.discriminator(self.generator(z)))
                self.update(opt_g, loss_g)

        # Lines 8-9 change neither E nor G, so one detached z^, x^ and G(z) serve both updates.
        with torch.no_grad():
            z_hat = self.encoder(x)
            x_hat = self.generator(z_hat)
            x_sample = self.generator(self.sample_prior(n))
            reconstruction = losses.l1_reconstruction(x_hat, x)

        # line 8: update phi by minimising (15).
        loss_d = self.discriminator_loss(self.discriminator(x), self.discriminator(x_hat), self.discriminator(x_sample))
        self.update(opt_d, loss_d)

        logged = {"encoder": loss_e, "generator": loss_g, "discriminator": loss_d, "reconstruction_l1": reconstruction}
        if self.uses_code_discriminator:
            # line 9: update omega by minimising (17).
            z = self.sample_prior(n)
            loss_c = self.code_discriminator_loss(self.code_discriminator(z), self.code_discriminator(z_hat))
            self.update(opt_c[0], loss_c)
            logged["code_discriminator"] = loss_c
        self.log_losses(logged, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        lr = self.hparams.lr_generator_encoder
        optimizers = [
            torch.optim.Adam(self.encoder.parameters(), lr=lr, betas=betas),
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr_discriminator, betas=betas),
        ]
        if self.uses_code_discriminator:
            optimizers.append(torch.optim.Adam(self.code_discriminator.parameters(),
                                               lr=self.hparams.lr_code_discriminator, betas=betas))
        return optimizers  # fixed learning rates: 'we kept a fixed learning rate throughout training' (H)


class AlphaGANEmpiricalKL(AlphaGAN):
    """alpha-GAN with the empirical KL of Appendix D instead of the code discriminator.

    The encoder minimises mean[lambda ||x - x^||_1] + KL_hat(z^) / n, with KL_hat the batch estimate
    eq. (18) and n the latent size (Appendix D), weight 1.0 like the adversarial term it replaces
    (H.1). There is no C_omega and no code-discriminator update; Algorithm 1 is otherwise unchanged.
    Arguments as :class:`AlphaGAN`, without ``lr_code_discriminator`` and ``code_hidden_dim``.
    """

    uses_code_discriminator = False

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lambda_encoder: float = 10.0,
        lambda_generator: float = 10.0,
        lr_generator_encoder: float = 5e-4,
        lr_discriminator: float = 5e-4,
        beta1: float = 0.5,
        beta2: float = 0.9,
        generator_updates: int = 2,
        hidden_dim: int = 128,
    ) -> None:
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, lambda_encoder=lambda_encoder,
                         lambda_generator=lambda_generator, lr_generator_encoder=lr_generator_encoder,
                         lr_discriminator=lr_discriminator, beta1=beta1, beta2=beta2,
                         generator_updates=generator_updates, hidden_dim=hidden_dim)

    def prior_loss(self, z_hat: Tensor) -> Tensor:
        """Eq. (18) on the batch of codes z^, divided by the latent size (Appendix D)."""
        return losses.empirical_kl(z_hat)
