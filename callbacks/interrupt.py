"""Nothing a user trained is lost: Ctrl-C or SIGTERM ends fit with a checkpoint of the last step."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from callbacks._common import resolve_log_dir


class CheckpointOnInterrupt(L.Callback):
    """Stop between two training iterations on Ctrl-C or SIGTERM and save ``last.ckpt``.

    Lightning turns SIGTERM (cluster pre-emption, ``kill``) into a ``SIGTERMException`` raised after
    the running iteration has finished. This callback routes the first Ctrl-C the same way (a second
    Ctrl-C aborts at once, without a checkpoint), then writes the checkpoint from ``on_exception``:
    the weights, optimizers, schedulers, loop counters, RNG states and data position of a complete
    iteration, so ``--ckpt_path <it>`` resumes exactly where the run stopped.

    The file is the ``last.ckpt`` of the run's ModelCheckpoint (its newest state replaces the one
    from the last epoch end), or ``<log dir>/checkpoints/last.ckpt`` without a ModelCheckpoint.
    A model whose losses went non-finite refuses to be saved, so good weights are never overwritten.

    Under DDP a terminal's Ctrl-C reaches every rank, each at its own point of the iteration; Lightning's
    SIGTERM route broadcasts from inside its signal handler, which interleaves with the training's own
    collectives and can crash or hang the ranks. So with several processes Ctrl-C only sets a flag, and at the
    start of every iteration the ranks agree (one all-reduce of a bool, ``reduce_boolean_decision``; Lightning
    already broadcasts its SIGTERM flag there at every step) to stop together before that iteration, and
    save one checkpoint of the last complete one.
    """

    last_reason: str | None = None  # of the latest interruption in this process, for the exit status

    def __init__(self) -> None:
        self.saved_path: Path | None = None
        self.reason: str | None = None
        self._previous_sigint: Any = None
        self._distributed = False
        self._rank_zero = True
        self._stop_requested = False

    # --------------------------------------------------------------------- Ctrl-C as a graceful stop
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.saved_path, self.reason, self._stop_requested = None, None, False
        self._distributed, self._rank_zero = trainer.world_size > 1, trainer.is_global_zero

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Installed after the Trainer records the process's signal handlers (it restores them on teardown).
        if threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.reason is not None:  # second Ctrl-C: the user wants out now
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.reason = "Ctrl-C"
        if self._rank_zero:
            print("\nCtrl-C: stopping after this training iteration and saving a checkpoint "
                  "(press Ctrl-C again to abort without one)", flush=True)
        if self._distributed:
            self._stop_requested = True  # the ranks agree on it at the next iteration's start
            return
        os.kill(os.getpid(), signal.SIGTERM)  # Lightning stops between iterations on SIGTERM

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self._distributed and trainer.strategy.reduce_boolean_decision(self._stop_requested, all=False):
            self.reason = self.reason or "Ctrl-C"  # a rank that got no signal stops with the others
            raise SIGTERMException  # every rank, before this iteration: the checkpoint holds the last complete one

    def _restore_sigint(self) -> None:
        if self._previous_sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous_sigint)
        self._previous_sigint = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_sigint()

    # --------------------------------------------------------------------- the checkpoint
    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._restore_sigint()
        if not isinstance(exception, SIGTERMException):
            return  # a crash or a forced second Ctrl-C: the state may be mid-iteration, keep the last good file
        self.reason = self.reason or "SIGTERM"
        CheckpointOnInterrupt.last_reason = self.reason
        path = self.checkpoint_path(trainer)
        try:
            trainer.save_checkpoint(path)
        except Exception as error:  # noqa: BLE001 - report, never mask the interruption itself
            rank_zero_info(f"{self.reason}: could not save a checkpoint ({type(error).__name__}: {error})")
            return
        self.saved_path = path
        rank_zero_info(f"{self.reason}: stopped after training step {trainer.global_step}; checkpoint saved to "
                       f"{path}. {resume_hint(trainer.ckpt_path, path)}")

    @staticmethod
    def checkpoint_path(trainer: L.Trainer) -> Path:
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, ModelCheckpoint) and checkpoint.dirpath is not None:
            return Path(checkpoint.dirpath) / f"{checkpoint.CHECKPOINT_NAME_LAST}{checkpoint.FILE_EXTENSION}"
        return resolve_log_dir(trainer) / "checkpoints" / "last.ckpt"


def resume_hint(resumed_from: str | Path | None, saved: Path) -> str:
    """How to resume from ``saved``, for a run started without or with a ``--ckpt_path``."""
    if resumed_from is None:
        return f"Resume with the same command plus --ckpt_path {saved}"
    if Path(resumed_from).resolve() == Path(saved).resolve():
        return "Resume with the same command (its --ckpt_path is this checkpoint)"
    return f"Resume with the same command, its --ckpt_path replaced by {saved}"
