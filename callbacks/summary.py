"""Write the run's final metrics to ``<log_dir>/metrics.json`` and print them as a table."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor

from callbacks._common import resolve_log_dir

FIXED_KEYS = ("data", "epoch", "global_step", "model", "status")


class MetricsSummary(L.Callback):
    """At the end of fitting, dump ``trainer.callback_metrics`` plus run facts to JSON and stdout.

    The file ``<trainer.log_dir or default_root_dir>/<filename>`` holds one flat object, keys sorted,
    indent 2:

    - every entry of ``trainer.callback_metrics`` under its logged name (``loss/discriminator``,
      ``modes/captured``, ``val/recon_mse``, ...), as a float; non-finite values are written as
      ``null`` so the file stays strict JSON. A loss logged per step and per epoch appears once,
      as its mean over the last epoch (the ``_step`` / ``_epoch`` copies are left out);
    - fixed keys: ``epoch`` (completed training epochs, ``trainer.current_epoch`` at the end),
      ``global_step`` (training iterations, i.e. batches: the zoo's models count one step per
      iteration however many optimizers they step), ``model``
      (class name of the LightningModule), ``data`` (class name of the datamodule, or ``null``) and
      ``status``: ``"finished"`` from ``on_fit_end``, ``"interrupted"`` from ``on_exception`` for a
      KeyboardInterrupt or a SIGTERM (Lightning calls ``on_exception``, not ``on_fit_end``, on Ctrl+C), or
      ``"failed"`` for any other exception.

    Evaluation callbacks in this package log their final numbers in ``on_train_end``, which Lightning
    runs before every ``on_fit_end``, so they are included whatever the callback order. Only rank
    zero writes and prints.
    """

    def __init__(self, filename: str = "metrics.json") -> None:
        self.filename = filename
        self._path: Path | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Resolved here on every rank: trainer.log_dir broadcasts, which is unsafe after an exception.
        self._path = resolve_log_dir(trainer) / self.filename

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write_summary(trainer, pl_module, "finished")

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if self._path is None:  # failed before fitting started: nothing was trained
            if trainer.is_global_zero:
                remove_empty_run_dirs(trainer)
            return
        interrupted = isinstance(exception, KeyboardInterrupt | SIGTERMException)
        self._write_summary(trainer, pl_module, "interrupted" if interrupted else "failed")

    @rank_zero_only
    def _write_summary(self, trainer: L.Trainer, pl_module: L.LightningModule, status: str) -> None:
        assert self._path is not None
        summary = self.collect(trainer, pl_module, status)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(_strict_json(summary), sort_keys=True, indent=2) + "\n")
        print(format_table(summary, title=str(self._path)))
        print(where_things_are(trainer, self._path))

    @staticmethod
    def collect(trainer: L.Trainer, pl_module: L.LightningModule, status: str) -> dict[str, Any]:
        """The summary as a dict: callback metrics as floats plus the fixed keys (see class doc)."""
        metrics = trainer.callback_metrics
        summary: dict[str, Any] = {
            name: float(value) if isinstance(value, Tensor) else value
            for name, value in metrics.items()
            if not _is_split_copy(name, metrics)
        }
        datamodule = trainer.datamodule
        summary.update(
            epoch=trainer.current_epoch,
            global_step=trainer.global_step,
            model=type(pl_module).__name__,
            data=type(datamodule).__name__ if datamodule is not None else None,
            status=status,
        )
        return summary


def where_things_are(trainer: L.Trainer, metrics_path: Path) -> str:
    """Lines naming the run's metrics.json, image folder and checkpoint files, for the end of ``fit``."""
    lines = [f"metrics:     {metrics_path}"]
    images = metrics_path.parent / "images"
    if images.is_dir():
        lines.append(f"images:      {images}{os.sep} ({sum(1 for _ in images.glob('*.png'))} PNG files)")
    folders = {Path(cb.dirpath) for cb in trainer.checkpoint_callbacks
               if isinstance(cb, ModelCheckpoint) and cb.dirpath is not None}
    folders.add(metrics_path.parent / "checkpoints")
    for folder in sorted(folder for folder in folders if folder.is_dir()):
        names = sorted(path.name for path in folder.glob("*.ckpt"))
        lines.append(f"checkpoints: {folder}{os.sep} ({', '.join(names)})")
    return "\n".join(lines)


def remove_empty_run_dirs(trainer: L.Trainer) -> None:
    """Remove the run folder (``lightning_logs/version_N``) a run that failed during setup left empty, and
    ``lightning_logs`` if nothing else is in it: Lightning creates them before the data is loaded."""
    for logger in trainer.loggers:
        if not isinstance(logger, (CSVLogger, TensorBoardLogger)):
            continue
        folder = Path(logger.log_dir)
        for candidate in (folder, folder.parent) if logger.name else (folder,):  # never save_dir itself
            try:
                candidate.rmdir()  # only an empty folder
            except OSError:
                break


def _is_split_copy(name: str, metrics: Mapping[str, Any]) -> bool:
    """``x_step`` / ``x_epoch`` twins of a metric ``x`` logged with both on_step and on_epoch.

    ``x`` already holds the epoch mean; the last step's value is one noisy batch.
    """
    for suffix in ("_step", "_epoch"):
        if name.endswith(suffix) and name[: -len(suffix)] in metrics:
            return True
    return False


def _strict_json(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in summary.items()
    }


def format_table(summary: dict[str, Any], title: str) -> str:
    """A plain-text table: ``title``, then the fixed keys, then the metrics (floats to 4 significant digits)."""
    metric_names = sorted(key for key in summary if key not in FIXED_KEYS)
    rows = [(key, summary[key]) for key in FIXED_KEYS if key in summary] + [(k, summary[k]) for k in metric_names]
    cells = [(name, f"{value:.4g}" if isinstance(value, float) else str(value)) for name, value in rows]
    name_width = max((len(name) for name, _ in cells), default=0)
    body = [f"{name:<{name_width}}  {value}" for name, value in cells]
    rule = "-" * max((len(line) for line in body), default=0)
    return "\n".join([title, rule, *body, rule])
