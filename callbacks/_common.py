"""Machinery shared by the zoo's callbacks: when to run, how to run, where to write, how to log.

Every evaluation callback in this package subclasses :class:`PeriodicEvaluation`, which decides
*when* to evaluate (every ``n``-th training epoch plus the final weights) and *how* (module in eval
mode, no autograd, training RNG untouched) and logs what the subclass returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor, nn

from datamodules.base import batch_data


def is_due(epoch: int, every_n_epochs: int) -> bool:
    """Whether a callback scheduled ``every_n_epochs`` runs at the end of 0-based ``epoch``.

    Epochs are counted from 1 for the schedule, so ``every_n_epochs=5`` runs after the 5th, 10th, ...
    epoch (0-based indices 4, 9, ...).
    """
    return (epoch + 1) % every_n_epochs == 0


@contextmanager
def forked_rng(device: torch.device) -> Iterator[None]:
    """Restore the global RNG streams of the CPU and of ``device`` on exit.

    Evaluation draws noise (and DataLoader iterators draw a base seed); forking keeps the training
    run's random stream identical whether or not evaluation callbacks are attached.
    """
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            yield
    else:
        index = device.index if device.index is not None else 0
        with torch.random.fork_rng(devices=[index], device_type=device.type):
            yield


@contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """Run a block with ``module`` in eval mode, without autograd and with a forked RNG.

    The train/eval flag of every submodule is restored exactly on exit (not just ``module.train()``),
    so a model that keeps, say, a frozen BatchNorm in eval mode during training is left as it was.
    """
    previous_modes = [(submodule, submodule.training) for submodule in module.modules()]
    module.eval()
    try:
        with torch.no_grad(), forked_rng(module_device(module)):
            yield
    finally:
        for submodule, was_training in previous_modes:
            submodule.training = was_training


def module_device(module: nn.Module) -> torch.device:
    """Device of a module's parameters (CPU for a module without parameters)."""
    return next(module.parameters(), torch.empty(0)).device


def at_least_float32(tensor: Tensor) -> Tensor:
    """``tensor`` in float32 if it is a lower precision (bf16 / fp16 from a forward pass under autocast), else as is."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def resolve_log_dir(trainer: L.Trainer) -> Path:
    """The run's directory: ``trainer.log_dir`` (CSV / TensorBoard: ``<save_dir>/<name>/version_N``),
    ``trainer.default_root_dir`` without a logger.

    For other loggers (W&B, MLflow, ...) ``trainer.log_dir`` is the logger's ``save_dir``, shared by
    every run; there the run's directory is ``<save_dir>/<name>/<version>`` (W&B: ``<project>/<run
    id>``), the folder that ModelCheckpoint puts ``checkpoints/`` in. Both broadcast from rank zero,
    so this must be called on every rank (the callbacks call it once in ``on_fit_start``, after the
    loggers have started their experiment, and keep the result).
    """
    loggers = trainer.loggers
    if not loggers or isinstance(loggers[0], (CSVLogger, TensorBoardLogger)):
        return Path(trainer.log_dir or trainer.default_root_dir)
    run_dir = None
    if trainer.is_global_zero:  # W&B knows its run id on rank zero only
        logger = loggers[0]
        version = logger.version if isinstance(logger.version, str) else f"version_{logger.version}"
        run_dir = str(Path(logger.save_dir or trainer.default_root_dir) / str(logger.name) / version)
    return Path(trainer.strategy.broadcast(run_dir))


def has_val_dataloader(datamodule: L.LightningDataModule | None) -> bool:
    """Whether ``datamodule`` exists and implements ``val_dataloader``."""
    return datamodule is not None and is_overridden("val_dataloader", datamodule, L.LightningDataModule)


def take_val_examples(datamodule: L.LightningDataModule, count: int) -> Tensor:
    """The first ``count`` inputs of ``datamodule.val_dataloader()`` (fewer if it holds fewer), on CPU."""
    taken: list[Tensor] = []
    remaining = count
    for batch in datamodule.val_dataloader():
        x = batch_data(batch)[:remaining].detach().cpu()
        taken.append(x)
        remaining -= x.shape[0]
        if remaining <= 0:
            break
    if not taken:
        raise ValueError(f"{type(datamodule).__name__}.val_dataloader() yielded no batches")
    return torch.cat(taken)


def log_metrics(
    trainer: L.Trainer,
    pl_module: L.LightningModule,
    metrics: Mapping[str, float],
    *,
    inside_epoch_end_hook: bool,
) -> None:
    """Log scalar metrics so that they reach the loggers and ``trainer.callback_metrics``.

    Inside ``on_train_epoch_end`` this is ``pl_module.log`` (epoch-level, so ModelCheckpoint /
    EarlyStopping can monitor them). Lightning forbids ``self.log`` in ``on_train_end``, so there
    the values go straight to every logger (at ``step=trainer.global_step``) and into
    ``trainer.callback_metrics``, where :class:`~callbacks.summary.MetricsSummary` reads them.
    """
    if not metrics:
        return
    if inside_epoch_end_hook:
        for name, value in metrics.items():
            # Under DDP every rank logs the same (broadcast) value; sync_dist averages these equal copies.
            pl_module.log(name, float(value), on_step=False, on_epoch=True, sync_dist=True)
        return
    trainer.callback_metrics.update({name: torch.tensor(float(value)) for name, value in metrics.items()})
    for logger in trainer.loggers:
        logger.log_metrics(dict(metrics), step=trainer.global_step)


class PeriodicEvaluation(L.Callback):
    """Base class: run :meth:`evaluate` every ``every_n_epochs`` training epochs and on the final weights.

    :meth:`evaluate` runs at the end of every training epoch whose 1-based number is a multiple of
    ``every_n_epochs``, and once more in ``on_train_end`` unless the final weights were already
    evaluated (tracked by ``trainer.global_step``). ``on_train_end`` runs before any callback's
    ``on_fit_end``, so a summary written at fit end sees the final numbers whatever the callback
    order. Epochs that are skipped cost one integer comparison. Evaluation happens inside
    :func:`evaluating` (eval mode, ``torch.no_grad()``, forked RNG), and the scalar metrics that
    :meth:`evaluate` returns are logged with :func:`log_metrics`.

    Under DDP :meth:`evaluate` runs on rank zero only (the weights are the same on every rank), so it
    must not call collectives; its metrics are broadcast so that every rank logs the same numbers.
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs = every_n_epochs
        self._evaluated_at_step: int | None = None
        self._last_finished_epoch: int | None = None

    def applies_to(self, pl_module: L.LightningModule) -> bool:
        """Whether this callback has anything to do for ``pl_module`` (override to opt out)."""
        return True

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        """Compute (and write) what this callback is for; return scalar metrics to log.

        Called inside :func:`evaluating`. ``epoch`` is the 0-based index of the epoch just finished.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement evaluate()")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._evaluated_at_step = None
        self._last_finished_epoch = None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_finished_epoch = trainer.current_epoch
        if is_due(trainer.current_epoch, self.every_n_epochs):
            self._run(trainer, pl_module, trainer.current_epoch, inside_epoch_end_hook=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._last_finished_epoch is None or trainer.global_step == self._evaluated_at_step:
            return
        self._run(trainer, pl_module, self._last_finished_epoch, inside_epoch_end_hook=False)

    def _run(
        self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int, *, inside_epoch_end_hook: bool
    ) -> None:
        if not self.applies_to(pl_module):
            return
        metrics: Mapping[str, float] = {}
        if trainer.is_global_zero:  # DDP: once, on the weights rank zero checkpoints, with no collective inside
            with evaluating(pl_module):
                metrics = self.evaluate(trainer, pl_module, epoch)
        if trainer.world_size > 1:  # every rank logs the same numbers, so checkpoint decisions agree
            metrics = trainer.strategy.broadcast(metrics, src=0)
        self._evaluated_at_step = trainer.global_step
        log_metrics(trainer, pl_module, metrics, inside_epoch_end_hook=inside_epoch_end_hook)
