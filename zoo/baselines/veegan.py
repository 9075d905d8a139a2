"""VEEGAN: reducing mode collapse with implicit variational learning (Srivastava et al. 2017).

Paper not in /work/shared/papers; aim.txt §2 summarises it as 'ALI regularized by an extra
reconstruction of latent z', and aim.txt Table 2 quotes its 2-D grid result (24.6 of 25 modes, 40 %
high-quality samples). A reconstructor F_theta: x -> z autoencodes the *noise*: F(G(z)) should give z
back. A joint discriminator D(z, x) estimates the log density ratio of the generator's pairs
(z, G(z)) over the reconstructor's pairs (F(x), x). Algorithm 1::

    D:      minimise O_LR = -1/n sum log sigmoid(D(z_i, G(z_i))) - 1/n sum log(1 - sigmoid(D(F(x_i), x_i)))
    G, F:   minimise O^   =  1/n sum D(z_i, G(z_i)) + 1/n sum ||z_i - F(G(z_i))||_2^2
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


class VEEGAN(GenerativeModule):
    """VEEGAN (Srivastava et al. 2017, Algorithm 1) on AIM's networks.

    Networks: G and the discriminator trunk are AIM's (aim.txt Tables 3-4, toy MLPs of width 128 on
    2-D data); the reconstructor F is AIM's encoder layout on its own trunk copy, deterministic
    (FC(mu) only); D(z, x) is :class:`zoo.nets.JointDiscriminator`. p_theta(z|x) is read as a point
    mass at F_theta(x) (the paper's d = l2 corresponds to a Gaussian centred at F(x); Algorithm 1's
    'z_g ~ p_theta(z|x)' then is F(x)). Two players, one Adam each: D, and (G, F) on O^ -- F only
    receives the gradient of the reconstruction term, since D(z, G(z)) does not depend on it.
    Algorithm 1 takes all gradients at the same parameters; we update D first and evaluate O^ with the
    new D, the alternating order of the zoo's other GANs.

    The authors' settings (Srivastava et al. 2017, §5 and appendix): fully connected networks with
    128-unit hidden layers on the 2-D mixtures and DCGAN-style networks on images, Adam, the l2
    reconstruction term with weight 1. The zoo's comparison paper (aim.txt Table 2 quotes VEEGAN's own
    numbers) is re-measured here with AIM's settings instead: AIM's networks and latent sizes (2 on
    2-D data, 32 on 28x28, 64 on 32x32 / 64x64), Adam(2e-4, beta1 0.5), alpha / sqrt(epoch).

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I). Default: AIM's (see above).
        lam: weight of the reconstruction term ||z - F(G(z))||^2 in O^ (the paper: 1).
        lr: Adam learning rate (aim.txt Tables 3-4: 2e-4).
        beta1: Adam beta_1 (0.5).
        beta2: Adam beta_2 (0.999).
        lr_decay: ``"inverse_sqrt"`` (alpha / sqrt(epoch), aim.txt Tables 3-4) or ``"none"``.
        hidden_dim: width of the MLPs for vector data (128); ignored for images.
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        lam: float = 1.0,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        lr_decay: str = "inverse_sqrt",
        hidden_dim: int = 128,
    ) -> None:
        latent_dim = paper_latent_dim(as_shape(image_shape)) if latent_dim is None else latent_dim
        super().__init__(image_shape, latent_dim)
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
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
        self.lam = float(lam)

        nets = joint_inference_nets(self.image_shape, self.latent_dim, hidden_dim, learn_variance=False)
        self.generator = nets.generator  # G_gamma: z -> x
        self.reconstructor = nets.encoder  # F_theta: x -> (F(x), 0)
        self.discriminator = nets.discriminator  # D_omega(z, x), logits; called as discriminator(x, z)

    # ------------------------------------------------------------------ losses of Algorithm 1
    def discriminator_loss(self, generator_logits: Tensor, reconstructor_logits: Tensor) -> Tensor:
        """O_LR: generator pairs (z, G(z)) labelled 1, reconstructor pairs (F(x), x) labelled 0."""
        return losses.gan_discriminator_loss(generator_logits, reconstructor_logits)

    def generator_loss(self, generator_logits: Tensor, z: Tensor, z_reconstructed: Tensor) -> Tensor:
        """O^ = 1/n sum D(z, G(z)) + lam/n sum ||z - F(G(z))||_2^2 (Algorithm 1 with d = squared l2)."""
        return (losses.density_ratio_generator_loss(generator_logits)
                + self.lam * losses.squared_l2_reconstruction(z_reconstructed, z))

    def reconstruct_code(self, x: Tensor) -> Tensor:
        """F_theta(x), with gradients (training)."""
        return self.reconstructor(x)[0]

    # ------------------------------------------------------------------ training: Algorithm 1
    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_gf = self.optimizers()
        x = batch_data(batch)  # x_i ~ p(x)
        n = x.size(0)

        z = self.sample_prior(n)  # z_i ~ p0(z)
        x_fake = self.generator(z)  # x_g = G(z)
        with torch.no_grad():
            z_data = self.reconstruct_code(x)  # z_g = F(x): only D uses it

        loss_d = self.discriminator_loss(self.discriminator(x_fake.detach(), z), self.discriminator(x, z_data))
        self.update(opt_d, loss_d)

        with frozen(self.discriminator):
            z_reconstructed = self.reconstruct_code(x_fake)  # F(G(z))
            generator_logits = self.discriminator(x_fake, z)
            loss_gf = self.generator_loss(generator_logits, z, z_reconstructed)
            self.update(opt_gf, loss_gf)

        with torch.no_grad():
            code_reconstruction = losses.squared_l2_reconstruction(z_reconstructed, z)
        self.log_losses({"discriminator": loss_d, "generator_reconstructor": loss_gf,
                         "code_reconstruction": code_reconstruction}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr, betas=betas)
        opt_gf = torch.optim.Adam([*self.generator.parameters(), *self.reconstructor.parameters()],
                                  lr=self.hparams.lr, betas=betas)
        return with_lr_decay([opt_d, opt_gf], self.hparams.lr_decay)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """F_theta(x). Does not change train/eval mode."""
        return self.reconstructor(x.to(self.device))[0]
