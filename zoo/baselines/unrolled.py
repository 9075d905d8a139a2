"""Unrolled GAN (Metz et al. 2017, 'Unrolled Generative Adversarial Networks').

The 'Unrolled GAN' row of aim.txt / dali.txt Table 2 (grid, quoted from Srivastava et al. 2017) and of
ivgan.txt Table 2 (stacked MNIST). Same networks and GAN losses as :class:`zoo.DCGAN`; only the
generator's objective differs: it is the loss against D after k further D steps (their eqs. 4-6),
differentiated *through* those steps, so G sees how D would answer its move::

    for each batch x:                        z ~ N(0, I), x~ = G(z)
        theta_D^0 = theta_D
        theta_D^{k+1} = theta_D^k - eta dL_D(theta_D^k; x, x~)/dtheta_D^k   (k = 0 .. K-1, create_graph)
        G step  on f_K = -log D_{theta_D^K}(G(z))        (gradient through every theta_D^k)
        D step  on L_D(theta_D; x, x~)                    (eqs. 7-8: both from the same theta_G, theta_D)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.func import functional_call

from datamodules.base import batch_data
from zoo.base import frozen
from zoo.baselines.gan import DCGAN


class UnrolledGAN(DCGAN):
    """Unrolled GAN (Metz et al. 2017): G's loss taken through ``unroll_steps`` unrolled D updates.

    The surrogate objective f_K(theta_G, theta_D) = f(theta_G, theta_D^K) of their eq. (4), with
    theta_D^K the K-step unrolled D of eqs. (5)-(6), is G's loss; its gradient flows back through
    every unrolled step (second derivatives of D's loss, their eq. 12's second term). D itself is
    updated on the plain loss (eq. 8). The losses are DCGAN's: binary cross entropy for D, the
    non-saturating ``-log D(G(z))`` for G, as in the DCGAN-based code of Metz et al.
    The unrolled steps are plain SGD with step ``unroll_lr`` (Metz et al.'s code unrolls Adam updates).
    Both players step from the same (theta_G, theta_D) each iteration (their eqs. 7-8), on the same z.
    With ``unroll_steps=0`` G's gradient is exactly DCGAN's.

    Defaults: K = 5 (the grid setting of the comparison-systems issue; Metz et al. §3.1 compare several K on
    their 2-D mixture); Adam as :class:`zoo.DCGAN` (ivgan.txt Table 5's DCGAN row).

    Args:
        unroll_steps: K, the number of unrolled D updates in G's objective (>= 0).
        unroll_lr: eta, the SGD step of the unrolled updates. Default: ``lr_d``.
        (others as :class:`zoo.DCGAN`)
    """

    def __init__(self, image_shape: Sequence[int] = (2,), latent_dim: int | None = None, lr_d: float = 1e-4,
                 lr_g: float = 1e-4, beta1: float = 0.5, beta2: float = 0.999, norm: str = "batch",
                 lr_decay: str = "none", hidden_dim: int = 128, unroll_steps: int = 5,
                 unroll_lr: float | None = None) -> None:
        if isinstance(unroll_steps, bool) or int(unroll_steps) != unroll_steps or unroll_steps < 0:
            raise ValueError(f"unroll_steps must be an integer >= 0, got {unroll_steps!r}")
        if unroll_lr is not None and unroll_lr <= 0:
            raise ValueError(f"unroll_lr must be positive, got {unroll_lr}")
        super().__init__(image_shape, latent_dim, lr_d, lr_g, beta1, beta2, norm, lr_decay, hidden_dim)
        self.unroll_steps = int(unroll_steps)
        self.unroll_lr = float(lr_d if unroll_lr is None else unroll_lr)

    def unrolled_discriminator_parameters(self, x: Tensor, x_fake: Tensor) -> dict[str, Tensor]:
        """theta_D^K of eqs. (5)-(6): K SGD steps on D's loss from the current theta_D, as a differentiable
        function of ``x_fake`` (not detached). D's own parameters receive no gradient: the unrolling starts
        from detached copies of them (D's update is its own, eq. 8)."""
        params = {name: p.detach().requires_grad_() for name, p in self.discriminator.named_parameters()}
        # Copies of the buffers: the unrolled forwards must not move D's BatchNorm statistics.
        buffers = {name: b.clone() for name, b in self.discriminator.named_buffers()}
        for _ in range(self.unroll_steps):
            state = {**params, **buffers}
            loss = self.discriminator_loss(functional_call(self.discriminator, state, (x,)),
                                           functional_call(self.discriminator, state, (x_fake,)))
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
            params = {name: p - self.unroll_lr * g for (name, p), g in zip(params.items(), grads)}
        return {**params, **buffers}

    def unrolled_generator_loss(self, x: Tensor, x_fake: Tensor) -> Tensor:
        """f_K of eq. (4) in its non-saturating form: ``-log D_{theta_D^K}(x~)``, x~ = G(z) with G's graph."""
        with frozen(self.discriminator):  # D's own parameters get no gradient from G's loss
            if self.unroll_steps == 0:
                return self.generator_loss(self.discriminator(x_fake))
            state = self.unrolled_discriminator_parameters(x, x_fake)
            return self.generator_loss(functional_call(self.discriminator, state, (x_fake,)))

    def training_step(self, batch: Tensor | Sequence[Tensor], batch_idx: int) -> None:
        opt_d, opt_g = self.optimizers()
        x = batch_data(batch)
        n = x.size(0)
        x_fake = self.generator(self.sample_prior(n))
        # D's loss at the current (theta_G, theta_D), eq. (8)
        loss_d = self.discriminator_loss(self.discriminator(x), self.discriminator(x_fake.detach()))
        # G's surrogate at the same point, eq. (7); G steps first, as D's in-place step would change the
        # theta_D its unrolled graph starts from.
        loss_g = self.unrolled_generator_loss(x, x_fake)
        self.update(opt_g, loss_g)
        self.update(opt_d, loss_d)
        self.log_losses({"discriminator": loss_d, "generator": loss_g}, batch_size=n)

