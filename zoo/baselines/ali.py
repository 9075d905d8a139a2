"""ALI (= BiGAN) and ALICE: joint distribution matching, the inference baselines of aim.txt Table 1.

Papers (not in /work/shared/papers; aim.txt §2 and §5.1 summarise them): Dumoulin et al. 2016,
'Adversarially Learned Inference' (ALI) = Donahue et al. 2016, 'Adversarial Feature Learning'
(BiGAN); Li et al. 2017, 'ALICE: Towards Understanding Adversarial Learning for Joint Distribution
Matching'. A discriminator D(x, z) tells the encoder's pairs (x, z^), z^ ~ q(z|x), from the
generator's pairs (G(z), z), z ~ p(z); generator and encoder, one player, fool it::

    min_{G,E} max_D  E_q(x)[log D(x, E(x))] + E_p(z)[log(1 - D(G(z), z))]            (ALI)
    ... + lambda * E_q(x) ||x - G(z^)||^2,  z^ ~ q(z|x)                              (ALICE)

ALICE's conditional-entropy term is used in its explicit form, the l_k cycle-consistency bound
(aim.txt §2 and A.1: 'regularizing the l_k norms between the reconstructed and real images').
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, check_lr_decay, frozen, with_lr_decay
from zoo.nets.aim import paper_latent_dim
from zoo.nets.inference_baselines import joint_inference_nets

RECONSTRUCTION_NORMS = ("l2", "l1")


class ALI(GenerativeModule):
    """ALI / BiGAN (Dumoulin et al. 2016, Algorithm 1) on AIM's networks.

    Encoder: stochastic, z^ = mu(x) + sigma(x) * eps, eps ~ N(0, I) (ALI's reparameterisation trick),
    with AIM's FC(mu) / FC(sigma) heads on its own copy of AIM's D_feature trunk. Discriminator:
    :class:`zoo.nets.JointDiscriminator`, AIM's D_feature(x) joined with an MLP embedding of z. The
    generator and encoder minimise the non-saturating loss of the ALI code (the discriminator's
    labels swapped, :func:`zoo.losses.joint_generator_loss`); one Adam per player (D; G and E).

    The authors' defaults (Dumoulin et al. 2016, Appendix A): Adam(1e-4, beta1 0.5, beta2 0.999
    -- printed as 1e-3 = 1 - beta2), batch 100, latent size 64 on CIFAR-10, 256 on SVHN / CelebA,
    DCGAN-like networks with dropout in D. aim.txt quotes its ALI / ALICE numbers (Table 1 from Li et
    al. 2017, Table 2 from Srivastava et al. 2017); the zoo re-measures them with AIM's own settings
    (aim.txt Tables 3-4), the defaults here: AIM's networks without dropout, Adam(2e-4, beta1 0.5),
    alpha / sqrt(epoch), batch 100, latent size 32 on MNIST and 64 on 32x32 / 64x64 images.

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size d of z. Default: AIM's (2 for 2-D data, 32 for 28x28, 64 for 32x32 / 64x64).
        lr: Adam learning rate (aim.txt Tables 3-4: 2e-4).
        beta1: Adam beta_1 (0.5).
        beta2: Adam beta_2 (0.999).
        lr_decay: ``"inverse_sqrt"`` (alpha / sqrt(epoch), aim.txt Tables 3-4) or ``"none"``.
        hidden_dim: width of the MLPs for vector data (AIM's toy networks: 128); ignored for images.
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_decay: str = "inverse_sqrt",
        hidden_dim: int = 128,
    ) -> None:
        latent_dim = paper_latent_dim(as_shape(image_shape)) if latent_dim is None else latent_dim
        super().__init__(image_shape, latent_dim)
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        check_lr_decay(lr_decay)
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")
        self.save_hyperparameters()
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim)

        nets = joint_inference_nets(self.image_shape, self.latent_dim, hidden_dim, learn_variance=True)
        self.generator = nets.generator  # G: z -> x
        self.encoder = nets.encoder  # q(z|x): x -> (mu, log sigma^2)
        self.discriminator = nets.discriminator  # D(x, z), logits

    # ------------------------------------------------------------------ losses
    def discriminator_loss(self, encoder_logits: Tensor, generator_logits: Tensor) -> Tensor:
        """-log D(x, z^) - log(1 - D(G(z), z)): encoder pairs real, generator pairs fake (ALI's value function)."""
        return losses.gan_discriminator_loss(encoder_logits, generator_logits)

    def generator_encoder_loss(self, encoder_logits: Tensor, generator_logits: Tensor, x: Tensor,
                               z_hat: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The G/E player's loss and the terms to log: the non-saturating ALI loss (ALICE adds its term)."""
        adversarial = losses.joint_generator_loss(encoder_logits, generator_logits)
        return adversarial, {"generator_encoder": adversarial}

    # ------------------------------------------------------------------ training: ALI Algorithm 1
    @staticmethod
    def reparameterise(mean: Tensor, log_variance: Tensor) -> Tensor:
        """z^ = mu + sigma * eps, eps ~ N(0, I): a differentiable sample of q(z|x) (ALI's reparameterisation).
        In float32, so that exp(log sigma^2 / 2) is never evaluated in bf16 under autocast."""
        mean, log_variance = mean.float(), log_variance.float()
        return mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)

    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_ge = self.optimizers()
        x = batch_data(batch)  # x ~ q(x)
        n = x.size(0)

        z_hat = self.reparameterise(*self.encoder(x))  # z^ ~ q(z|x)
        z = self.sample_prior(n)  # z ~ p(z)
        x_fake = self.generator(z)  # x~ = G(z)

        # D ascends the value function on detached pairs.
        loss_d = self.discriminator_loss(self.discriminator(x, z_hat.detach()), self.discriminator(x_fake.detach(), z))
        self.update(opt_d, loss_d)

        # G and E descend it through the freshly updated D (alternating updates, as the ALI code does);
        # the pairs z^, x~ and their graphs are reused, D is frozen so it collects no gradient.
        with frozen(self.discriminator):
            loss_ge, terms = self.generator_encoder_loss(self.discriminator(x, z_hat),
                                                         self.discriminator(x_fake, z), x, z_hat)
            self.update(opt_ge, loss_ge)

        self.log_losses({"discriminator": loss_d, **terms}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr, betas=betas)
        opt_ge = torch.optim.Adam([*self.generator.parameters(), *self.encoder.parameters()],
                                  lr=self.hparams.lr, betas=betas)
        return with_lr_decay([opt_d, opt_ge], self.hparams.lr_decay)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu(x), log sigma^2(x)) of q(z|x) = N(mu, sigma^2 I). Does not change train/eval mode."""
        return self.encoder(x.to(self.device))

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean mu(x)."""
        return self.posterior(x)[0]


class ALICE(ALI):
    """ALICE with the explicit cycle-consistency term (Li et al. 2017: the l_k bound on the
    conditional entropy H(x|z)): the G/E loss is ALI's plus ``lam * ||x - G(z^)||^2``, z^ ~ q(z|x).

    ``||.||^2`` is the per-element mean squared error of the ALICE code (``reconstruction_norm="l2"``;
    ``"l1"`` gives the mean absolute error). lambda = 0 is ALI (aim.txt A.1). Li et al. sweep lambda
    (aim.txt A.1, Figure 7, shows how sensitive the reconstructions are to it); their 2-D toy code
    (toy_data/ALICE_l2.py) uses Adam(1e-3, beta1 0.5) and lambda = 1.0, our default. aim.txt Table 1
    quotes Li et al.'s MNIST / CIFAR-10 numbers; the zoo trains ALICE with ALI's (= AIM's) settings.
    Other arguments as :class:`ALI`.

    Args:
        lam: weight lambda of the reconstruction term (>= 0).
        reconstruction_norm: ``"l2"`` (ALICE code) or ``"l1"``.
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam: float = 1.0,
        reconstruction_norm: str = "l2",
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_decay: str = "inverse_sqrt",
        hidden_dim: int = 128,
    ) -> None:
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        if reconstruction_norm not in RECONSTRUCTION_NORMS:
            raise ValueError(f"reconstruction_norm must be one of {RECONSTRUCTION_NORMS}, got {reconstruction_norm!r}")
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, lr=lr, beta1=beta1, beta2=beta2,
                         lr_decay=lr_decay, hidden_dim=hidden_dim)
        self.lam = float(lam)
        self.reconstruction_norm = reconstruction_norm

    def reconstruction_loss(self, x_reconstructed: Tensor, x: Tensor) -> Tensor:
        """||x - G(z^)||: the l2 (mean squared) or l1 (mean absolute) error per element, batch mean."""
        if self.reconstruction_norm == "l1":
            return losses.l1_reconstruction(x_reconstructed, x)
        return losses.l2_reconstruction(x_reconstructed, x)

    def generator_encoder_loss(self, encoder_logits: Tensor, generator_logits: Tensor, x: Tensor,
                               z_hat: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """ALI's non-saturating loss + lambda * ||x - G(z^)|| (the explicit ALICE objective)."""
        adversarial, terms = super().generator_encoder_loss(encoder_logits, generator_logits, x, z_hat)
        reconstruction = self.reconstruction_loss(self.generator(z_hat), x)
        return adversarial + self.lam * reconstruction, {**terms, "reconstruction": reconstruction}
