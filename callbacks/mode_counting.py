"""Mode counting on 2-D Gaussian mixtures (aim.txt §5.3, Table 2; Srivastava et al. 2017, VEEGAN)."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from callbacks._common import PeriodicEvaluation, at_least_float32

HIGH_QUALITY_STDS = 3.0


def mode_metrics(samples: Tensor, centers: Tensor, std: float) -> dict[str, float]:
    """Modes captured and percentage of high-quality samples, as in aim.txt §5.3 / VEEGAN.

    A generated sample is *high quality* if its Euclidean distance to the nearest mixture mean is at
    most ``3 * std``. The number of *modes captured* is the number of mixture components whose mean
    is the nearest mean of at least one high-quality sample.

    Args:
        samples: generated points, shape ``(N, D)``.
        centers: the mixture means, shape ``(K, D)``.
        std: the (isotropic) standard deviation of every mixture component.

    Returns:
        ``{"modes": count in [0, K], "high_quality": percentage in [0, 100]}``.
    """
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"expected samples (N, D) and centers (K, D), got {tuple(samples.shape)} and {tuple(centers.shape)}"
        )
    if samples.shape[0] == 0:
        raise ValueError("mode_metrics needs at least one sample")
    # Distances in at least float32: for bf16 samples (a forward pass under autocast) cdist's |a|^2 + |b|^2 - 2ab
    # cancels to errors of ~0.3 on the 25-Gaussian grid, twice its 3-std threshold.
    samples = at_least_float32(samples)
    centers = centers.to(device=samples.device, dtype=samples.dtype)
    nearest_distance, nearest_mode = torch.cdist(samples, centers).min(dim=1)
    high_quality = nearest_distance <= HIGH_QUALITY_STDS * std
    hits_per_mode = torch.bincount(nearest_mode[high_quality], minlength=centers.shape[0])
    return {
        "modes": float((hits_per_mode > 0).sum().item()),
        "high_quality": 100.0 * high_quality.float().mean().item(),
    }


class ModeCounting(PeriodicEvaluation):
    """Log ``modes/captured`` and ``modes/high_quality`` (percent) of ``num_samples`` generated points.

    Follows aim.txt §5.3 (Table 2), which takes the protocol of Srivastava et al. (2017): 2,500
    samples, high quality within 3 standard deviations of the nearest mode. Runs at the end of every
    ``every_n_epochs``-th training epoch and on the final weights (see :class:`PeriodicEvaluation`).

    The prior draws come from the model's own ``sample_prior`` (global RNG, forked so training is not
    perturbed), so the numbers vary slightly with the seed and the epoch; report means over runs as
    the paper does.

    Requires ``trainer.datamodule`` to expose ``centers`` (``(K, 2)`` tensor) and ``std`` (float), as
    the toy mixture datamodules do; otherwise fitting stops at start with a ``ValueError``.
    """

    def __init__(self, num_samples: int = 2500, every_n_epochs: int = 1) -> None:
        super().__init__(every_n_epochs)
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        self.num_samples = num_samples

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        datamodule = trainer.datamodule
        if not (hasattr(datamodule, "centers") and hasattr(datamodule, "std")):
            raise ValueError(
                "ModeCounting needs a datamodule with `centers` and `std` (a 2-D Gaussian mixture such as "
                f"the toy grid); got {type(datamodule).__name__ if datamodule is not None else 'no datamodule'}"
            )

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        datamodule = trainer.datamodule
        samples = pl_module.sample(self.num_samples)
        metrics = mode_metrics(samples.flatten(1), torch.as_tensor(datamodule.centers), float(datamodule.std))
        return {"modes/captured": metrics["modes"], "modes/high_quality": metrics["high_quality"]}
