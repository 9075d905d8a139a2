"""One generator + one discriminator: the GAN baselines DCGAN, LSGAN and WGAN-GP.

The papers' claims are comparisons against these (ivgan.txt Table 1: 'DCGAN', 'LSGAN', 'WGAN-GP';
aim.txt Table 2: 'GAN'; alpha_gan.txt §6 Figures 2-6: 'DCGAN', 'WGAN-GP'), so they are trained here by the
same code, on the same networks, and differ only in their losses and update plan (:class:`TwoPlayerGAN`)::

    for each batch x:                       (one training iteration = one global_step)
        repeat critic_steps times:          z ~ N(0, I), x~ = G(z)
            D step  on discriminator_loss(x, x~)
        repeat generator_updates times:
            G step  on generator_loss(D(G(z)))

Networks (``networks``): ``"ivgan"`` (default) is :func:`zoo.nets.gan_baseline_nets`, ivgan.txt Table 4 for
images and AIM's toy MLPs for vectors, the networks of ivgan.txt's and aim.txt's comparisons;
``"alpha_gan"`` is alpha-GAN's G and D (:func:`zoo.nets.alpha_gan_nets`, alpha_gan.txt H.4: 'For all our
baselines, we used the same discriminator and generator architectures, and we controlled the number of
latents'), the networks of alpha_gan.txt's DCGAN and WGAN-GP baselines on ColorMNIST, CelebA and CIFAR-10.

Models:
    DCGAN   Radford et al. 2016 (the papers' 'GAN'): binary cross entropy on logits, non-saturating
            G loss -log D(G(z)) (Goodfellow et al. 2014 §3), one D step per G step.
    LSGAN   Mao et al. 2017: least squares with the 0-1 coding a = 0, b = c = 1 (their eq. 2).
    WGANGP  Gulrajani et al. 2017: Wasserstein critic with gradient penalty lambda = 10 and
            n_critic = 5 critic steps per generator step (their Algorithm 1), no BatchNorm in the critic.

Learning rates and betas default to ivgan.txt Table 5, the comparison the image configs reproduce.
Table 5 reads (the extraction prints its columns vertically): lr_D = lr_G = 1e-4 (DCGAN), 2e-4
(LSGAN), 1e-4 (WGANGP); batch 64 and beta1 = 0.5 for all; beta2 = 0.999, 0.999, 0.9, 0.999 in the
row order DCGAN, LSGAN, WGANGP, MRGAN (the beta2 column's digit rows have a gap in the third place
only, i.e. one shorter value, '0.9'; the authors' WGANGP script uses betas (0.5, 0.9), as Gulrajani
et al.'s own gan_64x64.py does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, check_lr_decay, frozen, with_lr_decay
from zoo.nets.alpha_gan import alpha_gan_latent_dim, alpha_gan_nets
from zoo.nets.gan_baselines import DISCRIMINATOR_NORMS, gan_baseline_nets

IMAGE_LATENT_DIM = 100  # ivgan.txt §4: 'We use 100-dimensional standard Gaussian distribution as the prior'
VECTOR_LATENT_DIM = 2  # the 2-D codes of AIM's toy runs (configs/aim/grid25.yaml)
NETWORKS = ("ivgan", "alpha_gan")  # the papers whose networks the baselines can be trained on


def default_latent_dim(image_shape: Sequence[int]) -> int:
    """100 for images (ivgan.txt §4), 2 for vectors (AIM's 2-D toy setting)."""
    return VECTOR_LATENT_DIM if len(tuple(image_shape)) == 1 else IMAGE_LATENT_DIM


def check_adam(lrs: dict[str, float], beta1: float, beta2: float) -> None:
    """ValueError naming the argument unless every lr is positive and the betas are in [0, 1)."""
    for name, value in lrs.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    for name, value in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")


class TwoPlayerGAN(GenerativeModule):
    """The shared base of DCGAN, LSGAN and WGANGP; use one of those (``--model DCGAN``, ...).

    Subclasses give the losses (:meth:`discriminator_loss`, :meth:`generator_loss`, and
    :meth:`critic_objective` for a penalty) and the update plan (``critic_steps``,
    ``generator_reuses_critic_noise``, ``generator_updates``).

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I). Default: 100 for images (ivgan.txt §4), 2 for vectors; with
            ``networks="alpha_gan"`` alpha-GAN's (:func:`zoo.nets.alpha_gan_latent_dim`: 50 for 28x28, 100 for
            32x32 and 64x64, 2 for vectors), as H.4 'controlled the number of latents'.
        lr_d, lr_g: Adam learning rates of D and G.
        beta1, beta2: Adam betas (shared by both players).
        norm: normalisation in D's hidden layers for images: ``"batch"`` (ivgan.txt Table 4; alpha_gan.txt H:
            'We used batch normalization for all our experiments'), ``"layer"`` or ``"none"`` (the WGAN-GP
            critic's, Gulrajani et al. §4; :func:`zoo.nets.baseline_discriminator` and
            :func:`zoo.nets.alpha_gan.discriminator_block`). Toy MLPs have none.
        lr_decay: ``"none"`` (the papers' baselines) or ``"inverse_sqrt"`` (alpha / sqrt(epoch), AIM's
            schedule, so the grid25 configs train exactly as configs/aim/grid25.yaml does).
        hidden_dim: width of the MLPs for vector data (AIM's toy nets: 128); ignored for images.
        networks: whose G and D: ``"ivgan"`` (default; ivgan.txt Table 4, AIM's toy MLPs for vectors) or
            ``"alpha_gan"`` (alpha_gan.txt H.4: Tables 3-4 for 28x28, Gulrajani et al.'s DCGAN networks for
            32x32 and 64x64, as :class:`zoo.AlphaGAN` builds them; for vectors alpha-GAN's MLPs, ours, with the
            same layer sizes as the toy nets of ``"ivgan"``). Only G and D are kept; alpha-GAN's encoder and code
            discriminator are not built into the model.
        generator_updates: G steps per iteration, after the critic steps (1; alpha_gan.txt §6 updates DCGAN's G
            twice). G's steps reuse the last D step's z where the model does (``generator_reuses_critic_noise``),
            through the G each step has just updated; otherwise each draws a fresh z.
        discriminator_dropout: drop probability of a dropout after D's last convolution, alpha_gan.txt Table 3's
            DCGAN dropout (0: none). Only with ``networks="alpha_gan"`` on images.
    """

    critic_steps: int = 1
    generator_updates: int = 1
    # DCGAN's reference code trains G on the same z as D's step; WGAN-GP's Algorithm 1 draws a new batch (line 10).
    generator_reuses_critic_noise: ClassVar[bool] = True

    def __init__(self, image_shape: Sequence[int], latent_dim: int | None, lr_d: float, lr_g: float, beta1: float,
                 beta2: float, norm: str, lr_decay: str, hidden_dim: int, networks: str = "ivgan",
                 generator_updates: int = 1, discriminator_dropout: float = 0.0) -> None:
        if type(self) is TwoPlayerGAN:
            raise TypeError("TwoPlayerGAN is the shared base of the GAN baselines; instantiate one of them "
                            "(--model DCGAN, --model LSGAN or --model WGANGP)")
        if networks not in NETWORKS:
            raise ValueError(f"networks must be one of {NETWORKS}, got {networks!r}")
        shape = as_shape(image_shape)
        if latent_dim is None:
            latent_dim = alpha_gan_latent_dim(shape) if networks == "alpha_gan" else default_latent_dim(shape)
        super().__init__(shape, latent_dim)
        check_adam({"lr_d": lr_d, "lr_g": lr_g}, beta1, beta2)
        if norm not in DISCRIMINATOR_NORMS:
            raise ValueError(f"norm must be one of {DISCRIMINATOR_NORMS}, got {norm!r}")
        check_lr_decay(lr_decay)
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")
        if isinstance(generator_updates, bool) or int(generator_updates) != generator_updates or generator_updates < 1:
            raise ValueError(f"generator_updates must be an integer >= 1, got {generator_updates!r}")
        if not 0.0 <= discriminator_dropout < 1.0:
            raise ValueError(f"discriminator_dropout must be in [0, 1), got {discriminator_dropout}")
        if discriminator_dropout > 0 and (networks != "alpha_gan" or len(self.image_shape) == 1):
            raise ValueError("discriminator_dropout is alpha_gan.txt Table 3's dropout after D's last convolution: "
                             "it needs networks='alpha_gan' and image data")
        self.save_hyperparameters()
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim)
        self.generator_updates = int(generator_updates)

        if networks == "alpha_gan":
            nets = alpha_gan_nets(self.image_shape, self.latent_dim, hidden_dim, code_hidden_dim=None,
                                  discriminator_norm=norm, discriminator_dropout=float(discriminator_dropout))
        else:
            nets = gan_baseline_nets(self.image_shape, self.latent_dim, hidden_dim, norm)
        self.generator = nets.generator
        self.discriminator = nets.discriminator  # x -> one score (logit / raw score / critic value)

    # ------------------------------------------------------------------ the losses (per subclass)
    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        raise NotImplementedError

    def critic_objective(self, x: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss on real ``x`` and detached fakes ``x_fake``, and extra terms to log."""
        return self.discriminator_loss(self.discriminator(x), self.discriminator(x_fake)), {}

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_g = self.optimizers()
        x = batch_data(batch)
        n = x.size(0)
        reuse = self.generator_reuses_critic_noise
        # The critic steps share the iteration's real batch x (Algorithm 1 of WGAN-GP draws a new one per
        # step; with one batch per Lightning iteration, an epoch stays one pass over the data) and draw
        # fresh z each time.
        for step in range(self.critic_steps):
            z = self.sample_prior(n)
            # Only a fake batch that G's step reuses needs G's graph.
            with torch.set_grad_enabled(reuse and step == self.critic_steps - 1):
                x_fake = self.generator(z)
            loss_d, extra = self.critic_objective(x, x_fake.detach())
            self.update(opt_d, loss_d)

        # G's steps, scored by the freshly updated D (alternating updates, as the papers' code does).
        with frozen(self.discriminator):
            for step in range(self.generator_updates):
                if not reuse:
                    x_fake = self.generator(self.sample_prior(n))
                elif step > 0:  # the D step's z again, through the G the previous step updated
                    x_fake = self.generator(z)
                loss_g = self.generator_loss(self.discriminator(x_fake))
                self.update(opt_g, loss_g)

        self.log_losses({"discriminator": loss_d, "generator": loss_g, **extra}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr_d, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas)
        return with_lr_decay([opt_d, opt_g], self.hparams.lr_decay)


class DCGAN(TwoPlayerGAN):
    """DCGAN (Radford et al. 2016), the 'GAN' / 'DCGAN' baseline of aim.txt Table 2 and ivgan.txt Table 1.

    The GAN value function (Goodfellow et al. 2014, eq. 1) on logits: D minimises
    ``-E log D(x) - E log(1 - D(G(z)))``, G the non-saturating ``-E log D(G(z))`` (their §3), one D
    step then one G step on the same z per iteration (DCGAN's code).

    Defaults: ivgan.txt Table 5 row DCGAN, Adam(lr_D = lr_G = 1e-4, betas 0.5, 0.999), batch 64 (the
    datamodule's). Radford et al. used Adam(2e-4, beta1 0.5) and batch 128 (their §4); the toy config
    uses AIM's lr 1e-3. D keeps Table 4's BatchNorm (Radford et al. §3 use BN in D too, except its
    input layer; Table 4 has it there as well).

    alpha-GAN's DCGAN baseline (alpha_gan.txt §6, Figures 2-6; configs/baselines/dcgan_alpha_*.yaml):
    ``networks="alpha_gan"`` (H.4's G and D, BatchNorm in D as H states), ``generator_updates=2`` (§6: 'For
    DCGAN, we update the generator twice for each discriminator update following [carpedm20's]
    DCGAN-tensorflow', whose two G steps reuse the D step's z) and, on ColorMNIST,
    ``discriminator_dropout=0.2`` (Table 3: 'dropout of 0.8 after the last convolutional layer', read as a
    keep probability).

    Args: as :class:`TwoPlayerGAN`.
    """

    def __init__(self, image_shape: Sequence[int] = (2,), latent_dim: int | None = None, lr_d: float = 1e-4,
                 lr_g: float = 1e-4, beta1: float = 0.5, beta2: float = 0.999, norm: str = "batch",
                 lr_decay: str = "none", hidden_dim: int = 128, networks: str = "ivgan", generator_updates: int = 1,
                 discriminator_dropout: float = 0.0) -> None:
        super().__init__(image_shape, latent_dim, lr_d, lr_g, beta1, beta2, norm, lr_decay, hidden_dim, networks,
                         generator_updates, discriminator_dropout)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return losses.gan_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return losses.gan_generator_loss(fake_logits)


class LSGAN(TwoPlayerGAN):
    """LSGAN (Mao et al. 2017), the 'LSGAN' baseline of ivgan.txt Table 1.

    Their eq. (2) with the 0-1 coding a = 0, b = c = 1: D minimises
    ``1/2 E(D(x) - 1)^2 + 1/2 E D(G(z))^2``, G minimises ``1/2 E(D(G(z)) - 1)^2``; D's output
    activation is the identity. One D step then one G step on the same z per iteration.

    Defaults: ivgan.txt Table 5 row LSGAN, Adam(lr_D = lr_G = 2e-4, betas 0.5, 0.999), batch 64, and
    Table 4's D with BatchNorm (Mao et al. also train with Adam, beta1 = 0.5, on DCGAN-like networks).

    Args: as :class:`TwoPlayerGAN` (``networks="alpha_gan"`` trains it on alpha_gan.txt H.4's G and D,
    which that paper does not do).
    """

    def __init__(self, image_shape: Sequence[int] = (2,), latent_dim: int | None = None, lr_d: float = 2e-4,
                 lr_g: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999, norm: str = "batch",
                 lr_decay: str = "none", hidden_dim: int = 128, networks: str = "ivgan") -> None:
        super().__init__(image_shape, latent_dim, lr_d, lr_g, beta1, beta2, norm, lr_decay, hidden_dim, networks)

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.least_squares_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.least_squares_generator_loss(fake_scores)


class WGANGP(TwoPlayerGAN):
    """WGAN-GP (Gulrajani et al. 2017, 'Improved Training of Wasserstein GANs'), the 'WGAN-GP'
    baseline of ivgan.txt Table 1.

    Their Algorithm 1: per iteration, ``critic_steps`` (n_critic = 5) critic steps on
    ``E[D(x~)] - E[D(x)] + lambda E[(||grad D(x^)||_2 - 1)^2]`` (eq. 3, x^ uniformly between a real
    and a fake sample, :func:`zoo.losses.gradient_penalty`, in float32), then one generator step on
    ``-E[D(G(z))]`` with a fresh z (line 10). The critic's output is a raw score.

    The critic must not use BatchNorm (their §4: it maps a batch, not each sample, so the per-sample
    gradient penalty is no longer valid); Table 4's D is therefore used with its BatchNorm layers
    replaced by layer normalisation (``norm="layer"``, their recommended drop-in, as in their
    gan_64x64.py WGAN-GP critic); ``norm="none"`` removes them. G keeps Table 4's BatchNorm.

    Defaults: lambda = 10 and n_critic = 5 (Algorithm 1 defaults); Adam(lr 1e-4, betas 0.5, 0.9),
    which is both ivgan.txt Table 5's WGANGP row (read as above) and Gulrajani et al.'s released image
    code (Algorithm 1 states beta1 = 0; pass ``beta1=0`` for it).

    alpha-GAN's WGAN-GP baseline (alpha_gan.txt §6, Figures 2-6; configs/baselines/wgangp_alpha_*.yaml):
    ``networks="alpha_gan"``, H.4's G and D with D's BatchNorm replaced as above (H's 'batch normalization
    for all our experiments' cannot hold for a gradient-penalised critic): ``norm="layer"`` is gan_64x64.py's
    WGAN-GP critic, ``norm="none"`` gan_cifar.py's. lambda = 10 (H.1) and 5 critic steps per G step (§6).

    Args:
        gp_weight: lambda, the weight of the gradient penalty (10). Must be >= 0.
        critic_steps: n_critic, critic updates per generator update (5). ``global_step`` still counts
            iterations (one per batch), not optimiser steps.
        (others as :class:`TwoPlayerGAN`)
    """

    generator_reuses_critic_noise = False

    def __init__(self, image_shape: Sequence[int] = (2,), latent_dim: int | None = None, lr_d: float = 1e-4,
                 lr_g: float = 1e-4, beta1: float = 0.5, beta2: float = 0.9, norm: str = "layer",
                 lr_decay: str = "none", hidden_dim: int = 128, gp_weight: float = 10.0,
                 critic_steps: int = 5, networks: str = "ivgan") -> None:
        if gp_weight < 0:
            raise ValueError(f"gp_weight must be >= 0, got {gp_weight}")
        if isinstance(critic_steps, bool) or int(critic_steps) != critic_steps or critic_steps < 1:
            raise ValueError(f"critic_steps must be an integer >= 1, got {critic_steps!r}")
        if norm == "batch":
            raise ValueError("norm='batch' is not allowed for the WGAN-GP critic: BatchNorm couples the samples "
                             "of a batch, so the per-sample gradient penalty is invalid (Gulrajani et al. §4); "
                             "use norm='layer' (default) or 'none'")
        super().__init__(image_shape, latent_dim, lr_d, lr_g, beta1, beta2, norm, lr_decay, hidden_dim, networks)
        self.gp_weight = float(gp_weight)
        self.critic_steps = int(critic_steps)

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.wasserstein_critic_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.wasserstein_generator_loss(fake_scores)

    def critic_objective(self, x: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Algorithm 1 line 7: L = D(x~) - D(x) + lambda (||grad D(x^)||_2 - 1)^2, batch means."""
        wasserstein = self.discriminator_loss(self.discriminator(x), self.discriminator(x_fake))
        penalty = losses.gradient_penalty(self.discriminator, x, x_fake)
        # -wasserstein = E D(x) - E D(x~) is the critic's estimate of W(P_r, P_g) (their 'negative critic loss').
        return wasserstein + self.gp_weight * penalty, {"gradient_penalty": penalty, "wasserstein": -wasserstein}
