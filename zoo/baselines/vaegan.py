"""VAE/GAN (Larsen et al. 2016, 'Autoencoding beyond pixels using a learned similarity metric', ICML).

The 'VAEGAN' row of dali.txt §4.3 Table 2 (grid; the paper prints 21.4 of 25 modes and 34.1 % high-quality
samples, with no settings). Larsen et al. is not among the zoo's paper texts: what follows is written from the
published paper as we know it, cited by its paragraph titles (equation numbers are not checked against a text).
A VAE whose decoder Dec is a GAN's generator and whose reconstruction error is measured in the feature space of
the GAN's discriminator Dis::

    L_prior       = KL(q(z|x) || N(0, I))                                 (§2.1, the VAE's prior term)
    L_llike^Dis_l = -E_q(z|x) log N(Dis_l(x) | Dis_l(Dec(z)), I)           ('Beyond element-wise reconstruction')
    L_GAN         = log Dis(x) + log(1 - Dis(Dec(z_p))) + log(1 - Dis(Dec(Enc(x))))
                                                                          ('Discriminating based on samples
                                                                           from p(z) and q(z|x)')

Algorithm 1, one iteration per batch x::

    z ~ q(z|x) = Enc(x),  x~ = Dec(z);   z_p ~ N(0, I),  x_p = Dec(z_p)
    Enc  step on  L_prior + L_llike^Dis_l          (no L_GAN: 'Limiting error signals to relevant networks')
    Dec  step on  gamma L_llike^Dis_l - L_GAN      ('Weighting VAE vs. GAN'; G's GAN terms non-saturating, ours)
    Dis  step     maximising L_GAN                 (Dis never minimises L_llike: it would collapse its features)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, check_lr_decay, frozen, with_lr_decay
from zoo.baselines.gan import check_adam, default_latent_dim
from zoo.nets.gan_baselines import DISCRIMINATOR_NORMS, vaegan_nets


class VAEGAN(GenerativeModule):
    """VAE/GAN (Larsen et al. 2016, Algorithm 1) on the zoo's shared GAN-baseline networks.

    From Larsen et al.: the Gaussian encoder q(z|x) = N(mu(x), diag sigma^2(x)) sampled by reparameterisation
    and its closed-form KL to N(0, I) (L_prior, §2.1); the reconstruction likelihood taken on the l-th layer
    features of D, ``N(Dis_l(x) | Dis_l(x~), I)``, i.e. half a squared error summed over the features
    (L_llike^Dis_l, :func:`zoo.losses.feature_gaussian_nll`); both Dec(z_p), z_p ~ p(z), and the
    reconstructions Dec(Enc(x)) fake for D (L_GAN, :func:`zoo.losses.alpha_gan_discriminator_loss`, the same
    three terms); the three updates of Algorithm 1, each optimiser moving only its own network: Enc on
    L_prior + L_llike, Dec on gamma L_llike - L_GAN, Dis on -L_GAN (never on L_llike). Algorithm 1 takes all
    three gradients at the same parameters, and so does :meth:`training_step`: Enc's loss reaches z through
    the frozen Dec and Dis, Dec's through the frozen Dis, with z and Dis not yet updated, and Dis sees the
    fakes of the Dec before its step. Algorithm 1 writes Dec's update as descent on gamma L_llike - L_GAN,
    which with L_GAN as defined above would help Dis; it is read as meant: Dis maximises L_GAN, Dec
    minimises its own (fake) terms of it, here in the non-saturating form -log D(Dec(.)).

    Ours: the networks (the grid table's other rows use them; Larsen et al.'s are DCGAN-like convolutional
    ones for 64x64 faces): G = :func:`zoo.nets.gan_baseline_nets`' generator (AIM's toy sizes for vectors,
    ivgan.txt Table 4 for images); D = :func:`zoo.nets.feature_discriminator`, the baselines' D as
    ``Sequential(trunk, head)``; Dis_l is the trunk's output, the layer the score head reads (for vectors
    AIM's D_feature, data -> h -> h; for images Table 4's conv stack); E = :func:`zoo.nets.gaussian_encoder`.

    Defaults: gamma = 1. Larsen et al. introduce gamma as the weight of content (reconstruction) against style
    (fooling D) in Dec's update only ('Weighting VAE vs. GAN'); at gamma = 1 Dec's gradient is that of their
    unweighted combined loss L_prior + L_llike^Dis_l + L_GAN, the value that adds no scale of its own (ours;
    their image experiments' gamma is not checked here). Adam(lr 2e-4, betas 0.5, 0.999) for all three
    networks: DCGAN's settings (Radford et al. 2016), as the zoo's other GAN baselines; Larsen et al. trained
    with RMSProp. D keeps Table 4's BatchNorm on images (``norm``, as :class:`zoo.DCGAN`).

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I). Default: 100 for images (ivgan.txt §4), 2 for vectors.
        gamma: weight of L_llike^Dis_l against L_GAN in Dec's update (>= 0; 0: Dec is a plain GAN generator
            trained on prior samples and reconstructions).
        lr_e, lr_g, lr_d: Adam learning rates of the encoder, the decoder (generator) and the discriminator.
        beta1, beta2: Adam betas (shared by the three).
        norm: normalisation in D's hidden layers for images (``"batch"``, ``"layer"``, ``"none"``); toy MLPs have none.
        lr_decay: ``"none"`` or ``"inverse_sqrt"`` (AIM's alpha / sqrt(epoch), for the grid25 config).
        hidden_dim: width of the MLPs for vector data (AIM's toy nets: 128); ignored for images.
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        gamma: float = 1.0,
        lr_e: float = 2e-4,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        norm: str = "batch",
        lr_decay: str = "none",
        hidden_dim: int = 128,
    ) -> None:
        shape = as_shape(image_shape)
        super().__init__(shape, default_latent_dim(shape) if latent_dim is None else latent_dim)
        if not gamma >= 0:  # also refuses NaN
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        check_adam({"lr_e": lr_e, "lr_g": lr_g, "lr_d": lr_d}, beta1, beta2)
        if norm not in DISCRIMINATOR_NORMS:
            raise ValueError(f"norm must be one of {DISCRIMINATOR_NORMS}, got {norm!r}")
        check_lr_decay(lr_decay)
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")
        self.save_hyperparameters()
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim)
        self.gamma = float(gamma)

        nets = vaegan_nets(self.image_shape, self.latent_dim, hidden_dim, norm)
        self.encoder = nets.encoder  # Enc: x -> (mu, log sigma^2) of q(z|x)
        self.generator = nets.generator  # Dec: z -> x
        self.discriminator = nets.discriminator  # Dis = Sequential(trunk, head): x -> Dis_l(x) -> logit

    # ------------------------------------------------------------------ the losses of Algorithm 1
    @staticmethod
    def prior_loss(mean: Tensor, log_variance: Tensor) -> Tensor:
        """L_prior = KL(N(mu, sigma^2) || N(0, I)), summed over z's dimensions, batch mean."""
        return losses.standard_normal_kl(mean, log_variance)

    @staticmethod
    def feature_loss(reconstruction_features: Tensor, features: Tensor) -> Tensor:
        """L_llike^Dis_l = -log N(Dis_l(x) | Dis_l(x~), I) up to a constant: 1/2 the squared error summed over
        the features, batch mean. ``features`` = Dis_l(x), the target (no gradient for Enc or Dec)."""
        return losses.feature_gaussian_nll(reconstruction_features, features)

    def encoder_loss(self, mean: Tensor, log_variance: Tensor, reconstruction_features: Tensor,
                     features: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Enc's loss L_prior + L_llike^Dis_l, and its two terms."""
        prior, llike = self.prior_loss(mean, log_variance), self.feature_loss(reconstruction_features, features)
        return prior + llike, {"prior_kl": prior, "feature_nll": llike}

    def decoder_loss(self, reconstruction_features: Tensor, features: Tensor, reconstruction_logits: Tensor,
                     sample_logits: Tensor) -> Tensor:
        """Dec's loss gamma L_llike^Dis_l - L_GAN, its GAN terms as -log D(x~) - log D(x_p), batch means."""
        # Non-saturating: -log D(Dec(.)) for log(1 - D(Dec(.))) (Goodfellow et al. 2014 §3), ours as in the other baselines.
        adversarial = losses.gan_generator_loss(reconstruction_logits) + losses.gan_generator_loss(sample_logits)
        return self.gamma * self.feature_loss(reconstruction_features, features) + adversarial

    @staticmethod
    def discriminator_loss(real_logits: Tensor, reconstruction_logits: Tensor, sample_logits: Tensor) -> Tensor:
        """-L_GAN = -log D(x) - log(1 - D(Dec(Enc(x)))) - log(1 - D(Dec(z_p))), each a batch mean."""
        return losses.alpha_gan_discriminator_loss(real_logits, reconstruction_logits, sample_logits)

    # ------------------------------------------------------------------ training: Algorithm 1
    @staticmethod
    def reparameterise(mean: Tensor, log_variance: Tensor) -> Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a differentiable sample of q(z|x). In float32, so that
        exp(log sigma^2 / 2) is never evaluated in bf16 under autocast."""
        mean, log_variance = mean.float(), log_variance.float()
        return mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)

    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_e, opt_g, opt_d = self.optimizers()
        x = batch_data(batch)
        n = x.size(0)
        trunk, head = self.discriminator  # Dis_l and the score on top of it

        mean, log_variance = self.encoder(x)
        z = self.reparameterise(mean, log_variance)  # Z ~ q(Z|X)
        z_prior = self.sample_prior(n)  # Z_p ~ N(0, I)
        real_features = trunk(x)  # Dis_l(X); its graph is kept for Dis's step
        target = real_features.detach()  # the likelihood's data: a constant for Enc and Dec

        # Enc: L_prior + L_llike. The error reaches z through Dec and Dis, whose weights it leaves alone.
        with frozen(self.generator, self.discriminator):
            loss_e, terms = self.encoder_loss(mean, log_variance, trunk(self.generator(z)), target)
        self.update(opt_e, loss_e)

        # Dec: gamma L_llike - L_GAN at the same z (detached: Dec's gradient does not depend on Enc's step).
        x_tilde = self.generator(z.detach())  # X~ = Dec(Z)
        x_prior = self.generator(z_prior)  # X_p = Dec(Z_p)
        with frozen(self.discriminator):
            tilde_features = trunk(x_tilde)
            loss_g = self.decoder_loss(tilde_features, target, head(tilde_features), self.discriminator(x_prior))
        self.update(opt_g, loss_g)

        # Dis: maximise L_GAN on X, and on the fakes of the Dec before its step.
        loss_d = self.discriminator_loss(head(real_features), self.discriminator(x_tilde.detach()),
                                         self.discriminator(x_prior.detach()))
        self.update(opt_d, loss_d)

        self.log_losses({"encoder": loss_e, "generator": loss_g, "discriminator": loss_d, **terms}, batch_size=n)

    def configure_optimizers(self):
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        opt_e = torch.optim.Adam(self.encoder.parameters(), lr=hp.lr_e, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr_g, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=hp.lr_d, betas=betas)
        return with_lr_decay([opt_e, opt_g, opt_d], hp.lr_decay)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu(x), log sigma^2(x)) of q(z|x) = N(mu, sigma^2 I). Does not change train/eval mode."""
        return self.encoder(x.to(self.device))

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean mu(x); ``reconstruct`` is Dec(mu(x))."""
        return self.posterior(x)[0]
