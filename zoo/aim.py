"""AIM (Adversarial Inference by Matching priors and conditionals) = DALI, and its variants.

Papers: ``aim.txt`` (AIM, the preprint) and ``dali.txt`` (DALI, its published version, which adds
DALI-f and FID). One generator G, one discriminator D = D_con(D_feature(x)) and one encoder E that
reads D_feature's output but never updates it (aim.txt §5, dali.txt §4). The objective is
aim.txt eq. (9) / dali.txt eq. (10)::

    min_{G,E} max_D  V(G, D) + lambda * E_{p(z)} L(z, E(G(z)))

with L the Gaussian negative log-likelihood of eq. (8) / (9).

Models:
    AIM    the GAN value function eq. (7), non-saturating G loss, learned variance, lambda = 1/d.
    DALI   the same model under its published name.
    AIMMinus   AIM- / DALI-l2: q(z|x) with identity covariance (aim.txt §5.1, dali.txt §4.1).
    DALIF  DALI-f: the f-GAN KL value function dali.txt eq. (8); G minimises E[-D(G(z))] (dali.txt
           §3.4) or V itself (the authors' code), lambda = 1 (aim.txt §4.4: 'if we use V(G, D) in
           equation 6 ... then lambda = 1').
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from zoo import losses
from datamodules.base import batch_data
from zoo.base import GenerativeModule, as_shape, check_lr_decay, frozen, with_lr_decay
from zoo.nets.aim import adversarial_inference_nets, paper_latent_dim


class AIM(GenerativeModule):
    """AIM / DALI (aim.txt Algorithm 1, dali.txt Algorithm 1).

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size d of z. Default: the paper's (2 for 2-D data, 32 for 28x28 images,
            64 for 32x32 / 64x64 images; aim.txt Tables 3-4).
        lam: weight lambda of the latent reconstruction term. Default 1/d (aim.txt §5: 'Since the
            input to the log-function is one-dimensional in equation 7 but d-dimensional in
            equation 8, we set lambda to be 1/d').
        lr: Adam learning rate alpha (Tables 3-4: 2e-4).
        beta1: Adam beta_1 (Tables 3-4: 0.5).
        beta2: Adam beta_2 (the tables give none; Adam's default 0.999).
        lr_decay: ``"inverse_sqrt"`` for alpha_t = alpha / sqrt(t), t = epoch (Tables 3-4), or
            ``"none"``.
        hidden_dim: width of the MLPs used for vector data (ignored for images and by
            ``toy_arch="official"``).
        toy_arch: networks for vector data: ``"zoo"`` (default: :func:`zoo.nets.toy_nets`, fast MLPs of
            width ``hidden_dim``) or ``"official"`` (:func:`zoo.nets.official_toy_nets`, the authors'
            maxout / BatchNorm networks of alexanderhanboli/AIM ``LAI_mix_gaussian_fGAN.py``). Images
            ignore it.
    """

    has_encoder = True
    learn_variance = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam: float | None = None,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_decay: str = "inverse_sqrt",
        hidden_dim: int = 128,
        toy_arch: str = "zoo",
    ) -> None:
        latent_dim = paper_latent_dim(as_shape(image_shape)) if latent_dim is None else latent_dim
        super().__init__(image_shape, latent_dim)
        if lam is None:
            lam = self.default_lambda(self.latent_dim)
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        check_lr_decay(lr_decay)
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")
        self.save_hyperparameters()
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim, lam=float(lam))
        self.lam = float(lam)

        nets = adversarial_inference_nets(self.image_shape, self.latent_dim, hidden_dim,
                                          learn_variance=self.learn_variance, toy_arch=toy_arch)
        self.generator = nets.generator
        self.features = nets.features  # D_feature, shared by D_con and E
        self.critic_head = nets.critic_head  # D_con
        self.encoder = nets.encoder

    @staticmethod
    def default_lambda(latent_dim: int) -> float:
        return 1.0 / latent_dim

    # ------------------------------------------------------------------ losses of the value function
    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return losses.gan_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return losses.gan_generator_loss(fake_logits)

    def encoder_loss(self, z: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
        """L_e = lambda/n sum_j L(z_j, mu(x~_j), sigma^2(x~_j)) (Algorithm 1, eq. 8)."""
        return self.lam * losses.gaussian_nll(z, mean, log_variance)

    # ------------------------------------------------------------------ training: Algorithm 1
    def discriminator(self, x: Tensor) -> Tensor:
        """D(x) as logits (the sigmoid lives in the loss)."""
        return self.critic_head(self.features(x))

    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_ge = self.optimizers()
        x = batch_data(batch)
        n = x.size(0)

        z = self.sample_prior(n)  # z^(1..n) ~ p(z)
        x_fake = self.generator(z)  # x~ = G(z)

        # theta_d <- theta_d - grad L_d
        loss_d = self.discriminator_loss(self.discriminator(x), self.discriminator(x_fake.detach()))
        self.update(opt_d, loss_d)

        # (theta_g, theta_e) <- ... - grad (L_g + L_e). Algorithm 1 lists the losses before both
        # updates; we evaluate L_g with the freshly updated D, as alternating GAN training (the
        # DCGAN code the paper builds on) does. The trunk is frozen: E never updates D_feature.
        with frozen(self.features, self.critic_head):
            features_fake = self.features(x_fake)
            loss_g = self.generator_loss(self.critic_head(features_fake))
            mean, log_variance = self.encoder(features_fake)
            loss_e = self.encoder_loss(z, mean, log_variance)
            self.update(opt_ge, loss_g + loss_e)

        self.log_losses({"discriminator": loss_d, "generator": loss_g, "encoder": loss_e}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        opt_d = torch.optim.Adam([*self.features.parameters(), *self.critic_head.parameters()],
                                 lr=self.hparams.lr, betas=betas)
        opt_ge = torch.optim.Adam([*self.generator.parameters(), *self.encoder.parameters()],
                                  lr=self.hparams.lr, betas=betas)
        return with_lr_decay([opt_d, opt_ge], self.hparams.lr_decay)

    # ------------------------------------------------------------------ inference: Algorithm 2
    @torch.no_grad()
    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu(x), log sigma^2(x)) of q(z|x) = N(mu, sigma^2 I)."""
        return self.encoder(self.features(x.to(self.device)))

    def encode(self, x: Tensor) -> Tensor:
        """The inferred code: the posterior mean mu(x) (aim.txt §4.5)."""
        return self.posterior(x)[0]

    @torch.no_grad()
    def sample_posterior(self, x: Tensor, n: int) -> Tensor:
        """n 'similar neighbours' of each x: G(z), z ~ q(z|x) (Algorithm 2, aim.txt §5.5).

        Returns a tensor of shape (len(x), n, *image_shape).
        """
        if n <= 0:
            raise ValueError(f"n must be positive, got {n}")
        mean, log_variance = self.posterior(x)
        mean, log_variance = mean.float(), log_variance.float()  # exp in float32, also under bf16 autocast
        std = torch.exp(0.5 * log_variance)
        z = mean.unsqueeze(1) + std.unsqueeze(1) * torch.randn(mean.size(0), n, mean.size(1), device=mean.device)
        images = self.generator(z.flatten(0, 1))
        return images.reshape(mean.size(0), n, *images.shape[1:])


class DALI(AIM):
    """DALI (dali.txt): the published name of AIM; identical model and defaults."""


class AIMMinus(AIM):
    """AIM- / DALI-l2: q(z|x) = N(mu(x), I), so L is half the squared l2 distance plus a constant
    (aim.txt §5.1, dali.txt §4.1). The encoder has no variance branch."""

    learn_variance = False

    def encoder_loss(self, z: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
        return self.lam * losses.unit_gaussian_nll(z, mean)


GENERATOR_LOSS_FORMS = ("paper", "minimax")


class DALIF(AIM):
    """DALI-f: the f-GAN KL value function (dali.txt eq. 8, aim.txt eq. 6).

    D's output activation is the identity and D maximises
    ``V(G, D) = E_q[D(x)] - E_p[exp(D(G(z)) - 1)]``. G's loss is chosen by ``generator_loss_form``:

    - ``"paper"`` (default): ``E_p[-D(G(z))]``, the non-vanishing-gradient form dali.txt §3.4 prescribes
      (:func:`zoo.losses.fgan_kl_generator_loss`);
    - ``"minimax"``: ``E_p[-exp(D(G(z)) - 1)]``, i.e. G minimises V itself, as the authors' code does
      (alexanderhanboli/AIM, ``LAI_mix_gaussian_fGAN.py``; :func:`zoo.losses.fgan_kl_minimax_generator_loss`).

    ``max_score`` bounds D's scores from above, ``D -> min(D, max_score)``, in both players' losses (ours,
    not in the paper or the authors' code; ``None``: unbounded, as printed). Unbounded, D's scores on
    data G does not cover grow without limit: on the 25-Gaussian grid with the zoo's toy nets, in either
    form, exp(D - 1) overflowed within a few thousand steps or G left the grid; with 3
    (configs/dali/dali_f_grid25.yaml) the paper form captures all 25 modes.

    lambda defaults to 1 (aim.txt §4.4; the authors' code adds the latent NLL summed over the d
    dimensions with weight 1). The authors step G and E with two Adams of one setting; one Adam over both
    (ours) is the same update, Adam being per-parameter.
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam: float | None = None,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_decay: str = "inverse_sqrt",
        hidden_dim: int = 128,
        toy_arch: str = "zoo",
        generator_loss_form: str = "paper",
        max_score: float | None = None,
    ) -> None:
        if generator_loss_form not in GENERATOR_LOSS_FORMS:
            raise ValueError(f"generator_loss_form must be one of {GENERATOR_LOSS_FORMS}, got {generator_loss_form!r}")
        super().__init__(image_shape, latent_dim, lam, lr, beta1, beta2, lr_decay, hidden_dim, toy_arch)
        self.generator_loss_form = generator_loss_form
        self.max_score = None if max_score is None else float(max_score)

    @staticmethod
    def default_lambda(latent_dim: int) -> float:
        return 1.0

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.fgan_kl_discriminator_loss(real_scores, fake_scores, self.max_score)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        if self.generator_loss_form == "minimax":
            return losses.fgan_kl_minimax_generator_loss(fake_scores, self.max_score)
        return losses.fgan_kl_generator_loss(fake_scores, self.max_score)
