"""IVGAN: Intervention Generative Adversarial Nets (ivgan.txt), as IVDCGAN and IVLSGAN.

Four players: generator G, encoder E, discriminator D and a classifier f that shares D's trunk
except the output layer (§4). E's codes w = E(x) of real images are perturbed by block-substitution
interventions O_i (§3, :mod:`zoo.interventions`); f learns which O_i produced x' = G(O_i(w)), and
(G, E) are trained to make the k intervened distributions indistinguishable. The model's loss is
eq. (6)::

    L_model = L_adv + lambda * L_recon + mu * L_IV

with L_adv the adversarial loss of the base GAN (DCGAN's binary cross entropy -> IVDCGAN, LSGAN's
least squares -> IVLSGAN), L_recon the l1 reconstruction loss of eq. (5) and L_IV(G, E) = -min_f
V_class the intervention loss of eq. (3): the classifier minimises the cross entropy V_class, G and
E maximise it.

Who updates what (Algorithm 1, in its order D, f, G, E; each an Adam optimiser):
    D step  trunk + adversarial head   on L_adv (discriminator side)
    f step  trunk + classifier head    on V_class ('f shares the parameters with the discriminator
                                       except for the output layer', so theta_f includes the trunk)
    G step  generator                  on L_adv (generator side) + lambda L_recon + mu L_IV
    E step  encoder                    on lambda L_recon + mu L_IV
The trunk is therefore stepped twice per iteration, by two optimisers with their own Adam moments.

Unlike the authors' code, every loss is evaluated after the previous player's step (the D and f
forward passes of the G and E losses use the updated D and f; the E loss uses the updated G), and
E's loss keeps the reconstruction term that eq. (6) and Algorithm 1 line 17 give it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, frozen
from zoo.interventions import block_substitution, check_blocks
from zoo.nets.ivgan import ivgan_nets

IMAGE_LATENT_DIM = 100  # §4: 'We use 100-dimensional standard Gaussian distribution as the prior'


class IVGAN(GenerativeModule):
    """The shared IVGAN model (ivgan.txt Algorithm 1); use :class:`IVDCGAN` or :class:`IVLSGAN`,
    which choose the adversarial loss.

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: d. Default: 100 for images (§4); for vectors k, one coordinate per block (ours:
            the paper has no vector experiment). Must be a multiple of ``num_blocks``.
        num_blocks: k, the number of block-substitution interventions (Table 5: 4). At least 2.
        mu: weight of the intervention loss L_IV (Table 5: 0.5).
        lam: weight lambda of the reconstruction loss L_recon (Table 5: 0.25).
        lr_d, lr_g, lr_e: Adam learning rates of D, G and E. Table 5 (garbled in the text) reads
            lr_D = lr_G = 2e-4 and lr_E = 0.005 for both IVDCGAN and IVLSGAN.
        lr_f: learning rate of the classifier; Table 5 has no column for it: default ``lr_d``, as f
            is D's twin (same trunk).
        beta1, beta2: Adam betas (Table 5: 0.5, 0.999).
        instance_noise_std: sigma_0 of the instance noise (§4, Jenni & Favaro 2019): Gaussian noise
            of std sigma_t added to every input of D (real and generated, in the D and the G step).
            The paper gives no value: 0.1 is ours (data are in [-1, 1]). 0 disables it.
        instance_noise_decay_steps: T of the linear decay sigma_t = sigma_0 * max(0, 1 - t / T),
            t = training iteration (ours; 100,000 = the length of the paper's stacked-MNIST runs).
            None keeps sigma_0 constant.
        hidden_dim: width of the MLPs used for vector data (ignored for images).
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        num_blocks: int = 4,
        mu: float = 0.5,
        lam: float = 0.25,
        lr_d: float = 2e-4,
        lr_g: float = 2e-4,
        lr_e: float = 5e-3,
        lr_f: float | None = None,
        beta1: float = 0.5,
        beta2: float = 0.999,
        instance_noise_std: float = 0.1,
        instance_noise_decay_steps: int | None = 100_000,
        hidden_dim: int = 128,
    ) -> None:
        if type(self) is IVGAN:
            raise TypeError("IVGAN is the shared base of IVDCGAN and IVLSGAN; instantiate one of those "
                            "(--model IVDCGAN or --model IVLSGAN)")
        shape = as_shape(image_shape)
        if not isinstance(num_blocks, int) or isinstance(num_blocks, bool) or num_blocks < 2:
            raise ValueError(f"num_blocks must be an integer >= 2 (the classifier tells k interventions "
                             f"apart), got {num_blocks!r}")
        if latent_dim is None:
            latent_dim = self.default_latent_dim(shape, num_blocks)
        super().__init__(shape, latent_dim)
        check_blocks(self.latent_dim, num_blocks)
        for name, value in (("mu", mu), ("lam", lam), ("instance_noise_std", instance_noise_std)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        lr_f = lr_d if lr_f is None else lr_f
        for name, value in (("lr_d", lr_d), ("lr_g", lr_g), ("lr_e", lr_e), ("lr_f", lr_f)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if instance_noise_decay_steps is not None and instance_noise_decay_steps <= 0:
            raise ValueError(f"instance_noise_decay_steps must be positive or None (constant noise), "
                             f"got {instance_noise_decay_steps}")
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")
        self.save_hyperparameters()
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        self.hparams.update(image_shape=list(self.image_shape), latent_dim=self.latent_dim, lr_f=float(lr_f))
        self.num_blocks = num_blocks
        self.mu = float(mu)
        self.lam = float(lam)

        nets = ivgan_nets(self.image_shape, self.latent_dim, num_classes=num_blocks, hidden_dim=hidden_dim)
        self.generator = nets.generator
        self.encoder = nets.encoder
        self.trunk = nets.trunk  # shared by D and f
        self.adversarial_head = nets.adversarial_head  # D's output layer
        self.classifier_head = nets.classifier_head  # f's output layer (k logits)

    @staticmethod
    def default_latent_dim(image_shape: Sequence[int], num_blocks: int) -> int:
        return num_blocks if len(image_shape) == 1 else IMAGE_LATENT_DIM

    # ------------------------------------------------------------------ the base GAN's adversarial loss
    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ networks and interventions
    def discriminator(self, x: Tensor) -> Tensor:
        """D(x): one score per sample (a logit for IVDCGAN, a raw score for IVLSGAN)."""
        return self.adversarial_head(self.trunk(x))

    def classifier(self, x: Tensor) -> Tensor:
        """f(x): k logits, one per intervention; the softmax lives in the loss."""
        return self.classifier_head(self.trunk(x))

    def intervene(self, z: Tensor, block_indices: Tensor, noise: Tensor | None = None) -> Tensor:
        """O_{i_j}(z_j): block substitution of block ``block_indices[j]`` (0-based) by Gaussian noise."""
        return block_substitution(z, block_indices, self.num_blocks, noise)

    def sample_interventions(self, n: int) -> Tensor:
        """i_j ~ U([k]), j = 1..n (Algorithm 1 line 7), 0-based."""
        return torch.randint(self.num_blocks, (n,), device=self.device)

    def instance_noise_std_at(self, step: int) -> float:
        """sigma_t = sigma_0 * max(0, 1 - t / T), a Python float computed from the iteration count
        (no host-device synchronisation); sigma_0 when T is None."""
        sigma = float(self.hparams.instance_noise_std)
        decay_steps = self.hparams.instance_noise_decay_steps
        if decay_steps is None:
            return sigma
        return sigma * max(0.0, 1.0 - step / decay_steps)

    @staticmethod
    def with_instance_noise(x: Tensor, std: float) -> Tensor:
        """x + std * eps, eps ~ N(0, I): what D sees of every sample (Jenni & Favaro 2019)."""
        return x + std * torch.randn_like(x) if std > 0 else x

    def reconstruction_loss(self, x: Tensor, x_reconstructed: Tensor, code: Tensor,
                            code_reconstructed: Tensor) -> Tensor:
        """L_recon of eq. (5): ||G(E(x)) - x||_1 + ||E(G(O_i(w))) - O_i(w)||_1.

        Reading of eq. (5)'s second term: O_i(z) is the intervened code O_i(E(x)) with Gaussian
        noise z in the substituted block (the expectation is over x and z, and Theorem 2 compares the
        laws of these codes across i), i.e. the same x'_j = G(O_{i_j}(w_j)) that f classifies.
        Both terms are mean absolute errors (:func:`zoo.losses.l1_reconstruction`).
        """
        return losses.l1_reconstruction(x_reconstructed, x) + losses.l1_reconstruction(code_reconstructed, code)

    # ------------------------------------------------------------------ training: Algorithm 1
    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_f, opt_g, opt_e = self.optimizers()
        x = batch_data(batch)  # line 3: x_j ~ p_real
        n = x.size(0)
        z = self.sample_prior(n)  # line 2: z_j ~ p_z
        sigma = self.instance_noise_std_at(self.global_step)

        # Lines 4-8, one inner iteration (the paper gives no count).
        with torch.no_grad():
            w = self.encoder(x)  # line 5: w_j <- E(x_j); E's own step below recomputes it with grad
        noise = torch.randn_like(w)  # line 6: the Gaussian noise of the substituted blocks
        i = self.sample_interventions(n)  # line 7: i_j ~ U([k])
        w_intervened = self.intervene(w, i, noise)
        x_intervened = self.generator(w_intervened)  # line 8: x'_j <- G(O_{i_j}(w_j))
        x_fake = self.generator(z)
        # G's graph is reused by G's step: G's parameters do not change before it.

        # Line 9: D step on L_adv (trunk + adversarial head).
        loss_d = self.discriminator_loss(self.discriminator(self.with_instance_noise(x, sigma)),
                                         self.discriminator(self.with_instance_noise(x_fake.detach(), sigma)))
        self.update(opt_d, loss_d)

        # Lines 10-12: f step, ascent on sum_j log f_{i_j}(x'_j) = descent on V_class (trunk + classifier head).
        loss_f = losses.intervention_cross_entropy(self.classifier(x_intervened.detach()), i)
        self.update(opt_f, loss_f)

        # Lines 13-15: G step on L_adv + lambda L_recon + mu L_IV, with the updated D and f. The extracted
        # box reads 'theta_G <- theta_G + ...'; we read descent, as eq. (6) is minimised by G and E.
        with frozen(self.encoder, self.trunk, self.adversarial_head, self.classifier_head):
            adversarial = self.generator_loss(self.discriminator(self.with_instance_noise(x_fake, sigma)))
            recon = self.reconstruction_loss(x, self.generator(w), w_intervened, self.encoder(x_intervened))
            intervention = losses.intervention_loss(self.classifier(x_intervened), i)  # L_IV = -V_class
            loss_g = adversarial + self.lam * recon + self.mu * intervention
            self.update(opt_g, loss_g)

        # Lines 16-17: E step on lambda L_recon + mu L_IV, through the updated G (same x, i, noise). The
        # code target O_i(w) of eq. (5) is not detached: it is E's output too.
        with frozen(self.generator, self.trunk, self.adversarial_head, self.classifier_head):
            w = self.encoder(x)
            w_intervened = self.intervene(w, i, noise)
            x_intervened = self.generator(w_intervened)
            recon = self.reconstruction_loss(x, self.generator(w), w_intervened, self.encoder(x_intervened))
            intervention = losses.intervention_loss(self.classifier(x_intervened), i)
            loss_e = self.lam * recon + self.mu * intervention
            self.update(opt_e, loss_e)

        self.log_losses({"discriminator": loss_d, "classifier": loss_f, "generator": loss_g, "encoder": loss_e,
                         "reconstruction": recon, "intervention": intervention}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        trunk = list(self.trunk.parameters())
        opt_d = torch.optim.Adam([*trunk, *self.adversarial_head.parameters()], lr=self.hparams.lr_d, betas=betas)
        opt_f = torch.optim.Adam([*trunk, *self.classifier_head.parameters()], lr=self.hparams.lr_f, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas)
        opt_e = torch.optim.Adam(self.encoder.parameters(), lr=self.hparams.lr_e, betas=betas)
        return [opt_d, opt_f, opt_g, opt_e]


class IVDCGAN(IVGAN):
    """IVGAN on DCGAN's binary cross entropy (§3 'Adversarial loss'); G's loss is the
    non-saturating -log D(G(z)) of the DCGAN code."""

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return losses.gan_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return losses.gan_generator_loss(fake_logits)


class IVLSGAN(IVGAN):
    """IVGAN on LSGAN's least squares loss with the 0-1 coding a = 0, b = c = 1 (Mao et al.)."""

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.least_squares_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.least_squares_generator_loss(fake_scores)
