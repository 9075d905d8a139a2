"""Reconstruction error of models with an encoder (aim.txt §5.1, Table 1; Li et al. 2017, ALICE)."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from callbacks._common import PeriodicEvaluation, has_val_dataloader, module_device
from datamodules.base import batch_data


def squared_errors_on_unit_scale(x: Tensor, x_rec: Tensor) -> Tensor:
    """Elementwise squared errors after mapping both tensors from [-1, 1] to [0, 1] with ``(v + 1) / 2``.

    Equals ``((x - x_rec) / 2) ** 2``: a quarter of the squared error on the [-1, 1] scale. No
    clamping is applied, so a reconstruction outside [-1, 1] is penalised for its overshoot.
    """
    if x.shape != x_rec.shape:
        raise ValueError(f"x and x_rec differ in shape: {tuple(x.shape)} vs {tuple(x_rec.shape)}")
    return ((x - x_rec) / 2).square()


def reconstruction_mse(x: Tensor, x_rec: Tensor) -> Tensor:
    """Mean squared reconstruction error on the [0, 1] pixel scale (aim.txt Table 1 "MSE").

    Convention: inputs are images in [-1, 1]; both are mapped to [0, 1] with ``(v + 1) / 2`` and the
    squared differences are averaged over every pixel, channel and image (one mean over all
    elements, not a per-image sum). A value on the [-1, 1] scale is exactly 4 times this one.

    Caveat when comparing with Table 1: its ALI values (0.480 MNIST, 0.672 CIFAR-10) exceed the
    [0, 1]-scale MSE between random pairs of test images (about 0.13 and 0.12), which no
    reconstruction can sensibly do; they fit the [-1, 1] scale (random pairs: about 0.54 and 0.49).

    Returns:
        A 0-dim tensor.
    """
    return squared_errors_on_unit_scale(x, x_rec).mean()


class ReconstructionMSE(PeriodicEvaluation):
    """Log ``val/recon_mse``: :func:`reconstruction_mse` of ``G(E(x))`` over validation images.

    For models with ``has_encoder``, at the end of every ``every_n_epochs``-th training epoch and on
    the final weights (see :class:`PeriodicEvaluation`), reconstructs the first ``max_batches``
    batches of ``trainer.datamodule.val_dataloader()`` (``None``: all of them) and logs the exact
    mean over every pixel seen (total squared error / total element count, so a short last batch
    weighs by its size). On 2-D toy data the same convention gives a quarter of the coordinate MSE.
    Models without an encoder are skipped; this is logged once at INFO level.
    A model with an encoder but no datamodule with ``val_dataloader`` stops fitting at start with a
    ``ValueError``.
    """

    def __init__(self, every_n_epochs: int = 1, max_batches: int | None = 10) -> None:
        super().__init__(every_n_epochs)
        if max_batches is not None and max_batches < 1:
            raise ValueError(f"max_batches must be >= 1 or None, got {max_batches}")
        self.max_batches = max_batches

    def applies_to(self, pl_module: L.LightningModule) -> bool:
        return bool(pl_module.has_encoder)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        if not self.applies_to(pl_module):
            rank_zero_info(f"ReconstructionMSE: {type(pl_module).__name__} has no encoder; skipping val/recon_mse.")
            return
        if not has_val_dataloader(trainer.datamodule):
            raise ValueError("ReconstructionMSE needs trainer.datamodule with a val_dataloader()")

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        device = module_device(pl_module)
        squared_error_sum = torch.zeros((), dtype=torch.float64, device=device)
        element_count = 0
        for batch_index, batch in enumerate(trainer.datamodule.val_dataloader()):
            if self.max_batches is not None and batch_index >= self.max_batches:
                break
            x = batch_data(batch).to(device)
            squared_error_sum += squared_errors_on_unit_scale(x, pl_module.reconstruct(x)).sum(dtype=torch.float64)
            element_count += x.numel()
        if element_count == 0:
            raise ValueError(f"{type(trainer.datamodule).__name__}.val_dataloader() yielded no batches")
        return {"val/recon_mse": squared_error_sum.item() / element_count}
