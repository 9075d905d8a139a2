"""How close the encoded codes are to the prior, and how much the encoder's features know (ivaae.txt §4).

- FLD, the Frechet Latent Distance (§4): the Frechet distance between a Gaussian fit of the codes
  E(x) and the prior N(0, I), ``FLD(z) = ||mu_z||^2 + Tr(Sigma_z - 2 Sigma_z^(1/2) + I)``
  (:mod:`callbacks.frechet`, the formula FID uses). :func:`frechet_latent_distance` /
  :func:`model_fld`, logged as ``val/fld`` by :class:`FrechetLatentDistance`.
- The covariance heat map of the codes (Figure 6: |Sigma_z| entrywise, 0 dark to 1 bright), written as
  a PNG by :class:`LatentCovarianceHeatmap`.
- The encoder probe (Figure 5): a two-layer MLP of 1000 units trained on the frozen encoder's last
  hidden layer to classify the data's labels; :func:`probe_error`, logged as ``val/probe_error`` by
  :class:`EncoderProbe`.

The callbacks read the datamodule's in-memory splits (``datamodule.splits[split] = (x, y)``, see
:class:`datamodules.base.ZooDataModule`) through its ``batch_transform``, on a fixed random subset
drawn once per fit, so numbers compare across epochs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from matplotlib.figure import Figure
from torch import Tensor, nn

from callbacks._common import PeriodicEvaluation, module_device, resolve_log_dir
from callbacks.frechet import frechet_distance, gaussian_statistics
from callbacks.images import log_image_to_loggers


# --------------------------------------------------------------------------- pure functions
def frechet_latent_distance(codes: Tensor) -> float:
    """FLD of ivaae.txt §4: the Frechet distance between N(mean, cov) of ``codes`` (n, d) and N(0, I).

    ``||mu||^2 + Tr(Sigma + I - 2 Sigma^(1/2))`` with the unbiased covariance, in float64. 0 only when the
    codes' mean is 0 and their covariance I; a pure mean shift s adds ``2 mu.s + ||s||^2``.
    """
    mean, cov = gaussian_statistics(codes)
    identity = torch.eye(cov.size(0), dtype=cov.dtype, device=cov.device)
    return float(frechet_distance(mean, cov, torch.zeros_like(mean), identity))


def map_in_batches(function: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 500,
                   transform: Callable[[Tensor], Tensor] | None = None,
                   device: torch.device | None = None) -> Tensor:
    """``cat([function(transform(chunk)) for chunk in x])`` in float32, chunk by chunk on ``device``
    (stored uint8 images become [-1, 1] floats one chunk at a time)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    outputs = []
    for start in range(0, x.size(0), batch_size):
        chunk = x[start:start + batch_size]
        chunk = chunk.to(device) if device is not None else chunk
        if transform is not None:
            chunk = transform(chunk)
        outputs.append(function(chunk).float().flatten(1))
    if not outputs:
        raise ValueError("no samples to map")
    return torch.cat(outputs)


def model_fld(model: nn.Module, x: Tensor, batch_size: int = 500,
              transform: Callable[[Tensor], Tensor] | None = None) -> float:
    """FLD of ``model.encode`` on the data ``x`` (already in the model's input range unless a
    ``transform`` maps stored samples to it)."""
    codes = map_in_batches(model.encode, x, batch_size, transform, module_device(model))
    return frechet_latent_distance(codes)


def encoder_features(model: nn.Module, x: Tensor) -> Tensor:
    """What the probe classifies: ``model.encoder_features(x)`` (E's last hidden layer, ivaae.txt §4:
    'connected to the encoder's last hidden layer') when the model has it, else its code ``encode(x)``."""
    features = getattr(model, "encoder_features", None)
    return features(x) if callable(features) else model.encode(x)


def probe_mlp(in_features: int, num_classes: int, hidden_dim: int = 1000) -> nn.Sequential:
    """Figure 5's classifier: 'a two-layer MLP with 1000 nodes each', two hidden ReLU layers and a linear
    output layer with one logit per class."""
    return nn.Sequential(nn.Linear(in_features, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
                         nn.Linear(hidden_dim, num_classes))


def probe_error(train_features: Tensor, train_labels: Tensor, val_features: Tensor, val_labels: Tensor,
                steps: int = 1000, batch_size: int = 60, lr: float = 1e-4, hidden_dim: int = 1000,
                seed: int = 0) -> float:
    """Classification error on (val_features, val_labels) of a :func:`probe_mlp` trained for ``steps``
    iterations on (train_features, train_labels): ivaae.txt §4, Figure 5 ('batch size 60, learning rate
    0.0001'; the paper names no optimiser, Adam is ours). Batches are drawn uniformly with replacement.
    The features are fixed (the encoder is frozen); the result depends only on ``seed`` and the inputs.
    """
    if steps < 1 or batch_size < 1 or not lr > 0 or hidden_dim < 1:
        raise ValueError(f"steps, batch_size and hidden_dim must be >= 1 and lr > 0, got steps={steps}, "
                         f"batch_size={batch_size}, lr={lr}, hidden_dim={hidden_dim}")
    if train_features.size(0) != train_labels.size(0) or val_features.size(0) != val_labels.size(0) \
            or train_features.size(0) == 0 or val_features.size(0) == 0:
        raise ValueError("features and labels must be non-empty and of one length per split")
    device = train_features.device
    train_labels, val_labels = train_labels.to(device).long(), val_labels.to(device).long()
    num_classes = int(max(train_labels.max().item(), val_labels.max().item())) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = probe_mlp(train_features.size(1), num_classes, hidden_dim).to(device)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            index = torch.randint(train_features.size(0), (batch_size,), generator=generator).to(device)
            loss = nn.functional.cross_entropy(classifier(train_features[index].float()), train_labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        predictions = map_in_batches(classifier, val_features, batch_size=1000).argmax(dim=1)
    return (predictions != val_labels).float().mean().item()


def save_covariance_heatmap(path: str | Path, codes: Tensor, title: str | None = None) -> Tensor:
    """Write the heat map of |cov(codes)| (ivaae.txt Figure 6: 'The brightness represent absolute value
    of the corresponding entry. The brighter the closer to 1'), colour scale fixed to [0, 1] so maps
    compare across runs; entries above 1 saturate. Returns the covariance (float64, CPU)."""
    _, cov = gaussian_statistics(codes)
    cov = cov.cpu()
    figure = Figure(figsize=(5, 4.2), dpi=100)  # a bare Figure: Agg, pyplot's state untouched
    axes = figure.subplots()
    image = axes.imshow(cov.abs().numpy(), vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
    figure.colorbar(image, ax=axes)
    d = cov.size(0)
    axes.set_xlabel("latent dimension")
    axes.set_ylabel("latent dimension")
    axes.set_title(title or f"|cov(E(x))|, d = {d}")
    figure.savefig(path, bbox_inches="tight")
    return cov


# --------------------------------------------------------------------------- callbacks
class _SplitEvaluation(PeriodicEvaluation):
    """Evaluate models with an encoder on a fixed random subset of ``datamodule.splits[split]``."""

    def __init__(self, every_n_epochs: int, batch_size: int, seed: int) -> None:
        super().__init__(every_n_epochs)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.seed = seed
        self._subsets: dict[str, tuple[Tensor, Tensor]] = {}

    def applies_to(self, pl_module: L.LightningModule) -> bool:
        return bool(getattr(pl_module, "has_encoder", False))

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        self._subsets = {}
        if not self.applies_to(pl_module):
            rank_zero_info(f"{type(self).__name__}: {type(pl_module).__name__} has no encoder; skipped.")
            return
        if not isinstance(getattr(trainer.datamodule, "splits", None), dict):
            raise ValueError(f"{type(self).__name__} needs a zoo datamodule (one with in-memory splits); "
                             f"got {type(trainer.datamodule).__name__}")

    def subset(self, trainer: L.Trainer, split: str, count: int | None) -> tuple[Tensor, Tensor | None]:
        """(stored x, labels or None) of ``count`` random examples of ``split`` (all when None or more than
        it holds), drawn once per fit from ``seed``."""
        if split not in self._subsets:
            splits = trainer.datamodule.splits
            if split not in splits:
                raise ValueError(f"{type(self).__name__}: the datamodule has no '{split}' split "
                                 f"(it has {', '.join(sorted(splits))})")
            x, y = splits[split][0], (splits[split][1] if len(splits[split]) > 1 else None)
            if count is not None and count < x.size(0):
                index = torch.randperm(x.size(0), generator=torch.Generator().manual_seed(self.seed))[:count]
                x, y = x[index.to(x.device)], (y[index.to(y.device)] if y is not None else None)
            self._subsets[split] = (x, y)
        return self._subsets[split]

    def mapped(self, trainer: L.Trainer, pl_module: L.LightningModule, function: Callable[[Tensor], Tensor],
               x: Tensor) -> Tensor:
        transform = trainer.datamodule.batch_transform()
        return map_in_batches(function, x, self.batch_size, transform, module_device(pl_module))


class FrechetLatentDistance(_SplitEvaluation):
    """Log ``val/fld``: :func:`frechet_latent_distance` of E(x) on ``num_samples`` random examples of the
    datamodule's ``split`` (ivaae.txt §4 and Table 2: 'We randomly choose 60k images, get the encoded z').

    Args:
        every_n_epochs: evaluate after every n-th epoch (and on the final weights).
        num_samples: examples encoded (None: the whole split; the paper uses 60,000 MNIST training images).
        split: ``train`` (the paper's 60k are MNIST's training set) or ``val``.
        batch_size: examples per encoder forward pass.
        seed: seed of the subset.
    """

    def __init__(self, every_n_epochs: int = 1, num_samples: int | None = 10_000, split: str = "train",
                 batch_size: int = 500, seed: int = 0) -> None:
        super().__init__(every_n_epochs, batch_size, seed)
        if num_samples is not None and num_samples < 2:
            raise ValueError(f"num_samples must be >= 2 or None, got {num_samples}")
        self.num_samples = num_samples
        self.split = split

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        x, _ = self.subset(trainer, self.split, self.num_samples)
        return {"val/fld": frechet_latent_distance(self.mapped(trainer, pl_module, pl_module.encode, x))}


class LatentCovarianceHeatmap(_SplitEvaluation):
    """Write ``<log_dir>/images/latent_covariance_epoch<E>.png`` (and ``latent_covariance_last.png``), the
    heat map of |cov(E(x))| of ivaae.txt Figure 6, and send it to image-capable loggers as
    ``images/latent_covariance``. Also logs ``val/latent_offdiag``, the mean |off-diagonal covariance|.

    Args as :class:`FrechetLatentDistance`. Only rank zero encodes and writes.
    """

    def __init__(self, every_n_epochs: int = 1, num_samples: int | None = 10_000, split: str = "train",
                 batch_size: int = 500, seed: int = 0) -> None:
        super().__init__(every_n_epochs, batch_size, seed)
        if num_samples is not None and num_samples < 2:
            raise ValueError(f"num_samples must be >= 2 or None, got {num_samples}")
        self.num_samples = num_samples
        self.split = split
        self._image_dir: Path | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        self._image_dir = resolve_log_dir(trainer) / "images"

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        if not trainer.is_global_zero:
            return {}
        assert self._image_dir is not None
        self._image_dir.mkdir(parents=True, exist_ok=True)
        x, _ = self.subset(trainer, self.split, self.num_samples)
        codes = self.mapped(trainer, pl_module, pl_module.encode, x)
        path = self._image_dir / f"latent_covariance_epoch{epoch:04d}.png"
        cov = save_covariance_heatmap(path, codes, title=f"|cov(E(x))|, epoch {epoch}")
        shutil.copyfile(path, path.with_name("latent_covariance_last.png"))
        log_image_to_loggers(trainer, "images/latent_covariance", path)
        d = cov.size(0)
        off_diagonal = (cov.abs().sum() - cov.diagonal().abs().sum()) / max(d * (d - 1), 1)
        return {"val/latent_offdiag": float(off_diagonal)}


class EncoderProbe(_SplitEvaluation):
    """Log ``val/probe_error``: the classification error of a two-layer MLP (1000 units) trained on the
    frozen encoder's last hidden layer (ivaae.txt §4, Figure 5), :func:`probe_error`.

    The probe trains on ``num_train`` random training examples and is scored on ``num_val`` validation
    examples, with their labels (``datamodule.splits``). Figure 5 trains for up to 30,000 iterations of
    batch 60 at learning rate 1e-4; ``steps`` keeps the default cheap.

    Args:
        every_n_epochs: evaluate after every n-th epoch (and on the final weights).
        steps: probe training iterations.
        num_train, num_val: examples used from the train / val split (None: all).
        probe_batch_size: the probe's batch size (Figure 5: 60).
        lr: the probe's Adam learning rate (Figure 5: 1e-4).
        hidden_dim: units of each of the two hidden layers (Figure 5: 1000).
        batch_size: examples per encoder forward pass when extracting features.
        seed: seed of the subsets, of the probe's initialisation and of its batches.
    """

    def __init__(self, every_n_epochs: int = 10, steps: int = 1000, num_train: int | None = 10_000,
                 num_val: int | None = 10_000, probe_batch_size: int = 60, lr: float = 1e-4, hidden_dim: int = 1000,
                 batch_size: int = 500, seed: int = 0) -> None:
        super().__init__(every_n_epochs, batch_size, seed)
        if steps < 1 or probe_batch_size < 1 or hidden_dim < 1 or not lr > 0:
            raise ValueError(f"steps, probe_batch_size and hidden_dim must be >= 1 and lr > 0, got steps={steps}, "
                             f"probe_batch_size={probe_batch_size}, hidden_dim={hidden_dim}, lr={lr}")
        for name, value in (("num_train", num_train), ("num_val", num_val)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        self.steps = steps
        self.num_train = num_train
        self.num_val = num_val
        self.probe_batch_size = probe_batch_size
        self.lr = lr
        self.hidden_dim = hidden_dim

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        if not self.applies_to(pl_module):
            return
        for split in ("train", "val"):  # fail at start, not after the first epoch
            tensors = trainer.datamodule.splits.get(split)
            labels = tensors[1] if tensors is not None and len(tensors) > 1 else None
            if labels is None or labels.dim() != 1 or labels.is_floating_point() or bool((labels < 0).any()):
                raise ValueError(f"EncoderProbe needs a '{split}' split with one class label >= 0 per example; "
                                 f"{type(trainer.datamodule).__name__} has none (or not of that form)")

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        features = lambda x: encoder_features(pl_module, x)  # noqa: E731
        x_train, y_train = self.subset(trainer, "train", self.num_train)
        x_val, y_val = self.subset(trainer, "val", self.num_val)
        error = probe_error(self.mapped(trainer, pl_module, features, x_train), y_train,
                            self.mapped(trainer, pl_module, features, x_val), y_val, steps=self.steps,
                            batch_size=self.probe_batch_size, lr=self.lr, hidden_dim=self.hidden_dim, seed=self.seed)
        return {"val/probe_error": error}


__all__ = [
    "EncoderProbe",
    "FrechetLatentDistance",
    "LatentCovarianceHeatmap",
    "encoder_features",
    "frechet_latent_distance",
    "map_in_batches",
    "model_fld",
    "probe_error",
    "probe_mlp",
    "save_covariance_heatmap",
]
