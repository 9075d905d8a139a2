"""IVAAE: Intervention Adversarial Auto-Encoder (ivaae.txt).

A deterministic auto-encoder, encoder E and decoder G, whose codes z^ = E(x) are pushed towards the
prior N(0, I) by a latent discriminator D with t + 1 outputs (§2, Figure 1). The codes are transformed
by a family of N(0, I)-interventions T_0 = identity, T_1, ..., T_t (Definition 1), giving t + 1
'bridge distributions' p_k = law of T_k(E(x)) between the codes' law and the prior; D classifies
which T_k produced a code, and E is trained to make them indistinguishable. The intervention loss is
eq. (1):

    L_IV(E, D) = -E_{k ~ U{0..t}} E_{x ~ p_data} [log D_k(T_k(E(x)))]

D minimises it; at D's optimum L_IV = -JS(p_0, ..., p_t) + log(t + 1) (Theorem 2), so E maximises it.
E does so through the non-saturating form of its loss by default (``encoder_loss``, below).

Bridges (``--model.bridge``, :mod:`zoo.interventions`):
    blockwise  T_k replaces the first k of t equal blocks of z^ with N(0, I) noise (§2; needs t | d)
    radial     T_k(z^) = z^ cos(k pi / 2t) + z sin(k pi / 2t), z ~ N(0, I) (§2)
    svgd       T_k(z^), 0 < k < t: particles after 2k SVGD updates (eq. 2) of the batch z^, with an RBF
               kernel of bandwidth 100 med^2 / log n, step 1 and N(0, 0.1^2) noise after each update;
               T_t(z^) = z ~ N(0, I) (§3.2, §4)

Who updates what (Algorithm 1, in its order D, G, E; each an Adam optimiser):
    D step  discriminator  on mu1 * L_IV                        (line 11: ascent on sum log D_k(z^_jk))
    G step  decoder        on lambda * L_recon                  (line 14)
    E step  encoder        on lambda * L_recon + mu2 * L_adv    (line 16; L_adv = the cross entropy of
                                                                 every bridge against the prior's class t,
                                                                 or -L_IV with encoder_loss=minimax)

The baselines WAE-GAN / AAE (:mod:`zoo.baselines.wae`) are this model with t = 1.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from datamodules.base import batch_data
from zoo import losses
from zoo.base import GenerativeModule, as_shape, frozen
from zoo.interventions import prefix_block_substitution, radial_substitution, svgd_bridges
from zoo.nets.ivaae import ivaae_latent_dim, ivaae_nets

BRIDGES = ("blockwise", "radial", "svgd")
ENCODER_LOSSES = ("minimax", "non_saturating")
# §4: 'learning rate decays by multiplying 0.5 after 30 epochs, further multiplying 0.2 after 50
# epochs, and 0.1 after 100 epochs' -- 'further': the factors compound (x0.5, x0.1, x0.01 of the
# initial rate), the schedule of WAE's MNIST experiments that the paper adopts.
LR_MILESTONES = (30, 50, 100)
LR_DECAY_FACTORS = (0.5, 0.2, 0.1)


def step_decay(milestones: Sequence[int], factors: Sequence[float]) -> Callable[[int], float]:
    """The learning-rate multiplier after ``epoch`` completed epochs: the product of the ``factors``
    whose ``milestones`` have been reached (``LambdaLR``'s lambda; the zoo steps schedulers at every
    epoch end). With the §4 defaults: 1 before epoch 30, 0.5 from 30, 0.1 from 50, 0.01 from 100."""
    pairs = tuple(zip((int(m) for m in milestones), (float(f) for f in factors)))

    def factor(epoch: int) -> float:
        value = 1.0
        for milestone, decay in pairs:
            if epoch >= milestone:
                value *= decay
        return value

    return factor


def check_schedule(milestones: Sequence[int], factors: Sequence[float]) -> None:
    """ValueError naming ``lr_milestones`` / ``lr_decay_factors`` unless they form a step schedule."""
    milestones, factors = list(milestones), list(factors)
    if any(isinstance(m, bool) or int(m) != m or m < 1 for m in milestones) \
            or any(b <= a for a, b in zip(milestones, milestones[1:])):
        raise ValueError(f"lr_milestones must be increasing positive epoch counts, got {milestones}")
    if len(factors) != len(milestones) or any(not f > 0 for f in factors):
        raise ValueError(f"lr_decay_factors must hold one positive factor per milestone ({len(milestones)}), "
                         f"got {factors}")


def check_training_arguments(lam: float, learning_rates: dict[str, float], beta1: float, beta2: float,
                             hidden_dim: int) -> None:
    """The checks IVAAE and WAE-MMD share, each ValueError naming its argument."""
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    for name, value in learning_rates.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    for name, value in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if hidden_dim <= 0:
        raise ValueError(f"hidden_dim must be positive, got {hidden_dim}")


def with_step_decay(optimizers: list[torch.optim.Optimizer], milestones: Sequence[int], factors: Sequence[float]):
    """``configure_optimizers``' return value: the optimisers, each with the step schedule (none if
    ``milestones`` is empty)."""
    if not milestones:
        return optimizers
    schedule = step_decay(milestones, factors)
    return optimizers, [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in optimizers]


class IVAAE(GenerativeModule):
    """IVAAE (ivaae.txt Algorithm 1) with the blockwise, radial or SVGD bridges.

    Args:
        image_shape: shape of one sample; linked from the datamodule by the CLI.
        latent_dim: d. Default (§4): 16 for MNIST (one-channel images), 128 for CIFAR-10 (colour
            images; CelebA's is 64); for vectors max(t, 2) (ours). Blockwise bridges need t | d.
        bridge: ``blockwise``, ``radial`` or ``svgd`` (§2, §4).
        t: number of bridges after T_0; D has t + 1 outputs (§4: 'We choose t = 4 in all of our
            experiments'). t = 1 is the WAE-GAN / AAE baseline.
        lam: weight lambda of the reconstruction loss (§4: 1).
        mu1: weight of L_IV in D's loss. Default 4 / (t + 1) (§4; the extracted text reads
            'mu1 = t+14' and 'mu2 = t+12', i.e. 4/(t+1) and 2/(t+1), the 'down weighted by c/(t+1)'
            it explains with log's derivative t + 1 at the balance 1/(t+1)).
        mu2: weight of the intervention term in E's loss. Default 2 / (t + 1) (§4).
        encoder_loss: E's adversarial term L_adv. ``non_saturating`` (default): E minimises the cross
            entropy of every bridge against the prior's class t, mean over j, k of -log D_t(T_k(E(x_j)));
            for t = 1 the -log D(E(x)) of WAE-GAN (Tolstikhin et al., Algorithm 1). ``minimax``: -L_IV,
            E maximises D's cross entropy, eq. (1) and Algorithm 1 line 16 read literally.
            # Ambiguous: eq. (1) gives the saturating minimax loss, but Figure 3 says '-E[log(D(E(x)))] is
            # used as the encoder loss' and §4's results need it: in a 600-iteration MNIST check minimax
            # ended at FLD 41 (blockwise) / 113 (radial), non-saturating at 3.2 (WAE-GAN 3.9).
        lr_e, lr_g, lr_d: Adam learning rates of E, G and D (§4: 1e-3, 1e-3, 5e-4; the MNIST runs use
            5e-5, 1e-4, 1e-4, see configs/ivaae/mnist.yaml).
        beta1, beta2: Adam betas. The paper names no optimiser; Adam(0.5, 0.999) is WAE's, whose
            settings §4 follows (ours).
        lr_milestones, lr_decay_factors: step schedule, the learning rate is multiplied by each factor
            once its milestone (completed epochs) is reached, cumulatively (§4: (30, 50, 100),
            (0.5, 0.2, 0.1)). Empty: constant learning rates.
        svgd_steps_per_bridge: SVGD updates between consecutive bridges (§4: 'for every two iterations').
        svgd_bandwidth_scale: h = scale * med^2 / log n (§4: 'h = 100 h_0').
        svgd_step_size: epsilon of eq. (2) (§4: 1).
        svgd_noise_std: std of the Gaussian noise added after every SVGD update (§4: 0.1).
        hidden_dim: width of the MLPs used for vector data (ignored for images).
    """

    has_encoder = True

    def __init__(
        self,
        image_shape: Sequence[int] = (2,),
        latent_dim: int | None = None,
        bridge: str = "blockwise",
        t: int = 4,
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
        svgd_steps_per_bridge: int = 2,
        svgd_bandwidth_scale: float = 100.0,
        svgd_step_size: float = 1.0,
        svgd_noise_std: float = 0.1,
        hidden_dim: int = 128,
    ) -> None:
        shape = as_shape(image_shape)
        if bridge not in BRIDGES:
            raise ValueError(f"bridge must be one of {', '.join(BRIDGES)}, got {bridge!r}")
        if isinstance(t, bool) or not isinstance(t, int) or t < 1:
            raise ValueError(f"t (the number of bridges) must be an integer >= 1, got {t!r}")
        if latent_dim is None:
            latent_dim = max(t, 2) if len(shape) == 1 else ivaae_latent_dim(shape)
        super().__init__(shape, latent_dim)
        if bridge == "blockwise" and self.latent_dim % t != 0:
            raise ValueError(
                f"t={t} must divide latent_dim={self.latent_dim}: blockwise bridges slice z into t equal blocks "
                f"(ivaae.txt §2, 't | d'); choose a latent_dim that is a multiple of t, a t that divides it, or "
                f"--model.bridge radial / svgd"
            )
        mu1 = 4.0 / (t + 1) if mu1 is None else mu1
        mu2 = 2.0 / (t + 1) if mu2 is None else mu2
        for name, value in (("mu1", mu1), ("mu2", mu2)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if encoder_loss not in ENCODER_LOSSES:
            raise ValueError(f"encoder_loss must be one of {', '.join(ENCODER_LOSSES)}, got {encoder_loss!r}")
        check_training_arguments(lam, {"lr_e": lr_e, "lr_g": lr_g, "lr_d": lr_d}, beta1, beta2, hidden_dim)
        check_schedule(lr_milestones, lr_decay_factors)
        if isinstance(svgd_steps_per_bridge, bool) or int(svgd_steps_per_bridge) != svgd_steps_per_bridge \
                or svgd_steps_per_bridge < 1:
            raise ValueError(f"svgd_steps_per_bridge must be an integer >= 1, got {svgd_steps_per_bridge!r}")
        for name, value in (("svgd_bandwidth_scale", svgd_bandwidth_scale), ("svgd_step_size", svgd_step_size)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if svgd_noise_std < 0:
            raise ValueError(f"svgd_noise_std must be >= 0, got {svgd_noise_std}")
        # Subclasses that fix some arguments (WAE-GAN: t = 1) do not record them, so a checkpoint
        # rebuilds them with their own signature.
        own = inspect.signature(type(self).__init__).parameters
        self.save_hyperparameters(ignore=[name for name in inspect.signature(IVAAE.__init__).parameters
                                          if name not in own and name != "self"])
        # Record the resolved defaults, so checkpoints and loggers show the values actually used.
        resolved = dict(image_shape=list(self.image_shape), latent_dim=self.latent_dim, mu1=float(mu1),
                        mu2=float(mu2), lr_milestones=[int(m) for m in lr_milestones],
                        lr_decay_factors=[float(f) for f in lr_decay_factors])
        self.hparams.update({name: value for name, value in resolved.items() if name in own})
        self.bridge = bridge
        self.t = t
        self.lam = float(lam)
        self.mu1 = float(mu1)
        self.mu2 = float(mu2)
        self.encoder_loss = encoder_loss
        self.svgd_steps_per_bridge = int(svgd_steps_per_bridge)
        self.svgd_bandwidth_scale = float(svgd_bandwidth_scale)
        self.svgd_step_size = float(svgd_step_size)
        self.svgd_noise_std = float(svgd_noise_std)

        nets = ivaae_nets(self.image_shape, self.latent_dim, num_classes=t + 1, hidden_dim=hidden_dim)
        self.encoder = nets.encoder  # E, deterministic
        self.generator = nets.generator  # G, the decoder
        self.discriminator = nets.discriminator  # D, t + 1 logits

    # ------------------------------------------------------------------ bridges (§2, §4)
    def draw_bridge_noise(self, n: int) -> tuple[Tensor, Tensor | None]:
        """Algorithm 1 line 3: z_j ~ P(z), the noise every bridge draws on (blockwise and radial use the
        same z_j for every k, as the box samples one z_j per x_j); for SVGD also the N(0, 0.1^2 I) noise
        added after each update, shape (svgd_steps_per_bridge * (t - 1), n, d)."""
        prior = self.sample_prior(n)
        if self.bridge != "svgd":
            return prior, None
        steps = self.svgd_steps_per_bridge * (self.t - 1)
        step_noise = self.svgd_noise_std * torch.randn(steps, n, self.latent_dim, device=self.device)
        return prior, step_noise

    def intervene(self, z_hat: Tensor, prior: Tensor, step_noise: Tensor | None = None) -> list[Tensor]:
        """Lines 6-9: [T_0(z^), ..., T_t(z^)], each (n, d). Differentiable in ``z^`` (through the SVGD
        particles too); T_t(z^) = ``prior`` for every bridge."""
        t = self.t
        if self.bridge == "blockwise":
            return [prefix_block_substitution(z_hat, k, t, prior) for k in range(t + 1)]
        if self.bridge == "radial":
            return [radial_substitution(z_hat, k, t, prior) for k in range(t + 1)]
        if step_noise is None:
            raise ValueError("the SVGD bridge needs step_noise (see draw_bridge_noise)")
        return svgd_bridges(z_hat, t, prior, step_noise, self.svgd_steps_per_bridge,
                            self.svgd_bandwidth_scale, self.svgd_step_size)

    def bridge_batch(self, bridges: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """All bridges in one batch for D, ``((t+1) n, d)`` in float32, and their labels k (int64)."""
        n = bridges[0].size(0)
        codes = torch.cat([b.float() for b in bridges])
        labels = torch.arange(len(bridges), device=codes.device).repeat_interleave(n)
        return codes, labels

    # ------------------------------------------------------------------ losses
    def intervention_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """L_IV of eq. (1): the cross entropy of D's softmax over the t + 1 bridges, averaged over the
        batch and over k ~ U{0, ..., t} (every k equally often in the batch). log(t + 1) at D's optimum
        for identical bridges (uniform predictions).

        Algorithm 1 line 11 divides the sum over j and k by m t; eq. (1) averages over the t + 1 values of
        k ('averaging on k', 'an unbiased estimator of its theoretical form'): we use eq. (1)'s mean.
        """
        return losses.intervention_cross_entropy(logits, labels)

    def encoder_adversarial_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """E's adversarial term (weighted by mu2): -L_IV (``minimax``) or the cross entropy against the
        prior's class t for every bridge (``non_saturating``)."""
        if self.encoder_loss == "minimax":
            return losses.intervention_loss(logits, labels)  # = -L_IV
        return losses.intervention_cross_entropy(logits, torch.full_like(labels, self.t))

    def reconstruction_loss(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """L_recon: WAE's cost c(x, y) = ||x - y||_2^2 as the WAE code computes it, 0.05 times the squared
        error summed over each sample, batch mean (:func:`zoo.losses.wae_squared_l2_cost`).

        The paper does not print L_recon; it follows WAE (§4: 'we adopt the same architecture as WAE',
        and WAE's MNIST learning rates and step schedule), so we take WAE's cost, on the zoo's [-1, 1]
        data (WAE's CelebA scale). A per-element mean with lambda = 1 left the adversarial term in
        charge: in a 600-iteration MNIST check it reconstructed worse and matched the prior worse.
        """
        return losses.wae_squared_l2_cost(x_hat, x)

    # ------------------------------------------------------------------ training: Algorithm 1
    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_g, opt_e = self.optimizers()
        x = batch_data(batch)  # line 2
        n = x.size(0)
        prior, step_noise = self.draw_bridge_noise(n)  # line 3
        # Line 4, once: E is not stepped before its own update, so this graph serves E's step too.
        z_hat = self.encoder(x)
        # Lines 6-9 (T_0, ..., T_t), once; D's step sees them detached, E's step differentiates them.
        codes, labels = self.bridge_batch(self.intervene(z_hat, prior, step_noise))

        # Lines 10-11: D ascends sum_j sum_k log D_k(z^_jk), i.e. descends mu1 * L_IV.
        loss_d = self.mu1 * self.intervention_loss(self.discriminator(codes.detach()), labels)
        self.update(opt_d, loss_d)

        # Lines 12-14: G descends lambda * L_recon (line 5's x^ = G(z^), z^ fixed for G).
        loss_g = self.lam * self.reconstruction_loss(self.generator(z_hat.detach()), x)
        self.update(opt_g, loss_g)

        # Lines 15-16: E descends lambda * L_recon + mu2 * L_adv through the updated G and D (line 12
        # computes the losses once; autograd cannot go through G's weights from before its in-place
        # step, so, as everywhere in the zoo, each loss is evaluated after the previous player's step).
        with frozen(self.generator, self.discriminator):
            recon = self.reconstruction_loss(self.generator(z_hat), x)
            logits = self.discriminator(codes)
            adversarial = self.encoder_adversarial_loss(logits, labels)
            loss_e = self.lam * recon + self.mu2 * adversarial
            self.update(opt_e, loss_e)

        self.log_losses({"discriminator": loss_d, "generator": loss_g, "encoder": loss_e, "reconstruction": recon,
                         "intervention": self.intervention_loss(logits.detach(), labels)}, batch_size=n)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        optimizers = [
            torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr_d, betas=betas),
            torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas),
            torch.optim.Adam(self.encoder.parameters(), lr=self.hparams.lr_e, betas=betas),
        ]
        return with_step_decay(optimizers, self.hparams.lr_milestones, self.hparams.lr_decay_factors)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def encoder_features(self, x: Tensor) -> Tensor:
        """E's last hidden layer, flattened: what the encoder probe of §4 (Figure 5) classifies."""
        return self.encoder.body(x.to(self.device)).flatten(1)
