"""Checkpoints that store no weights twice: ``last.ckpt`` alone, and the best one linked to it when equal."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class BestCheckpoint(ModelCheckpoint):
    """A ``ModelCheckpoint`` of the best value of ``monitor`` that stores no weights twice.

    When the best step is the step that another ModelCheckpoint of the run (the CLI's ``last.ckpt``)
    has just saved, the best file becomes a hard link to that file: one copy on disk, two names.
    Lightning writes a checkpoint to a temporary file and renames it over the old one, so a later
    ``last.ckpt`` replaces that name only and the best file keeps its weights. Where the file system
    has no hard links, the checkpoint is written as usual.
    """

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        # Saving is collective under DDP (every rank gathers its RNG state), so every rank must take the same
        # branch: rank zero decides, links, and says whether it could.
        same = trainer.strategy.broadcast(self._same_step_checkpoint(trainer))
        linked = False
        if same is not None and trainer.is_global_zero:
            try:
                if os.path.lexists(filepath):
                    os.remove(filepath)
                os.link(same, filepath)
                linked = True
            except OSError:
                pass
        if not trainer.strategy.broadcast(linked):
            super()._save_checkpoint(trainer, filepath)
            return
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        for logger in trainer.loggers:
            logger.after_save_checkpoint(self)

    def _same_step_checkpoint(self, trainer: L.Trainer) -> Path | None:
        """A file another ModelCheckpoint of ``trainer`` saved at this very step, if any."""
        for callback in trainer.checkpoint_callbacks:
            if callback is self or not isinstance(callback, ModelCheckpoint):
                continue
            if callback._last_global_step_saved != trainer.global_step or callback.save_weights_only != self.save_weights_only:
                continue
            path = callback._last_checkpoint_saved
            if path and Path(path).is_file():
                return Path(path)
        return None


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt`` at every epoch end (and wherever ModelCheckpoint's arguments ask), and no other file.

    ``ModelCheckpoint(save_last=True)`` also keeps an ``epoch=E-step=S.ckpt``, the same weights again (two
    160 MB files for a short MNIST run); with ``save_top_k=0`` Lightning 2.6 writes ``last.ckpt`` only when
    a top-k file was written at the same step, i.e. at the end of training. This saves it at each epoch end.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("save_last", True)
        kwargs.setdefault("save_top_k", 0)
        kwargs.setdefault("save_on_train_epoch_end", True)  # the zoo's models have no validation loop
        super().__init__(**kwargs)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if (self.save_last and self._last_global_step_saved != trainer.global_step
                and not self._should_skip_saving_checkpoint(trainer) and self._should_save_on_train_epoch_end(trainer)
                and self._every_n_epochs >= 1 and (trainer.current_epoch + 1) % self._every_n_epochs == 0):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
