"""GenerativeModule: the base of every model in the zoo.

It owns what all papers share, so a paper's file only holds its networks, its losses and a
``training_step`` that reads like the paper's algorithm box:

- manual optimisation, one optimiser per player, :meth:`update` for one gradient step;
- ``trainer.global_step`` counts *training iterations* (batches), not optimiser steps. Lightning
  counts every ``optimizer.step()`` in manual optimisation (lightning issue #17958), so a model with
  two players would stop after half of ``max_steps`` and log at twice the rate; :meth:`update`
  lets only the first step of an iteration count;
- the prior and the inference API: ``sample_prior``, ``generate``, ``sample`` and, for models with
  an encoder, ``encode``, ``reconstruct`` (and ``sample_posterior`` where q(z|x) is stochastic);
- per-epoch learning-rate schedules (stepped at the end of each training epoch);
- loss logging without host-device synchronisation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor, nn


def _do_nothing() -> None:
    return None


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Stop gradients from accumulating in ``modules``' parameters while still flowing through them.

    Used when a player's loss passes through another player's network (the generator's loss
    through D): the other network's weight gradients would be computed for nothing.
    """
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def as_shape(image_shape: Sequence[int] | None) -> tuple[int, ...]:
    """``image_shape`` as a tuple of positive ints, or a ValueError that names the argument."""
    shape = tuple(int(s) for s in image_shape) if image_shape is not None else ()
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(
            f"image_shape must be a non-empty sequence of positive sizes such as (3, 64, 64) "
            f"or (2,), got {image_shape!r}; the CLI sets it from the datamodule"
        )
    return shape


class GenerativeModule(L.LightningModule):
    """Base of every zoo model. Subclasses build networks from ``(image_shape, latent_dim)``.

    Args:
        image_shape: shape of one data sample, ``(C, H, W)`` for images or ``(D,)`` for vectors.
            The CLI links it from the datamodule, so it rarely needs to be given by hand.
        latent_dim: dimension d of the latent code z ~ N(0, I).
    """

    automatic_optimization = False
    has_encoder: ClassVar[bool] = False

    def __init__(self, image_shape: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        shape = as_shape(image_shape)
        if int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.image_shape: tuple[int, ...] = shape
        self.latent_dim = int(latent_dim)
        self._iteration_counted = False

    # ------------------------------------------------------------------ inference API
    def sample_prior(self, n: int) -> Tensor:
        """z ~ p(z) = N(0, I), shape (n, latent_dim), on the module's device."""
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def generate(self, z: Tensor) -> Tensor:
        """x = G(z), data in [-1, 1]. Does not change train/eval mode."""
        return self.generator(z.to(self.device))

    def sample(self, n: int) -> Tensor:
        """n samples x = G(z), z ~ p(z)."""
        return self.generate(self.sample_prior(n))

    def encode(self, x: Tensor) -> Tensor:
        """Latent code of x (the posterior mean for stochastic encoders)."""
        raise NotImplementedError(f"{type(self).__name__} has no encoder")

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(encode(x))."""
        return self.generate(self.encode(x))

    # ------------------------------------------------------------------ training helpers
    def update(self, optimizer: LightningOptimizer, loss: Tensor) -> None:
        """One gradient step of ``optimizer`` on ``loss``; zero_grad -> backward -> step.

        Only the first update of a training iteration advances ``trainer.global_step``.
        """
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if not self._iteration_counted:
            optimizer.step()
            self._iteration_counted = True
            return
        counting_hooks = optimizer._on_before_step, optimizer._on_after_step
        optimizer._on_before_step = optimizer._on_after_step = _do_nothing
        try:
            optimizer.step()
        finally:
            optimizer._on_before_step, optimizer._on_after_step = counting_hooks

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._iteration_counted = False

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    def log_losses(self, losses: Mapping[str, Tensor], batch_size: int) -> None:
        """Log ``loss/<name>`` per step (at the trainer's logging interval) and per epoch.

        Detached tensors only: Lightning converts them to numbers when it writes to the logger,
        so no host-device synchronisation happens in the training step.
        """
        self.log_dict(
            {f"loss/{name}": value.detach() for name, value in losses.items()},
            on_step=True, on_epoch=True, batch_size=batch_size,
        )
