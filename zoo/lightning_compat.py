"""Every use the zoo makes of Lightning's private attributes, in one place.

Lightning offers no public route for these; each is a small accessor here, and
``tests/test_lightning_compat.py`` checks each one against the installed Lightning, naming the attribute when
a release renames or removes it (a silent change would, e.g., stop the zoo's step counting or its W&B
placement without an error). Public routes are used everywhere else: the data position for exact resume is
the train loader's ``state_dict`` (Lightning's stateful-loader interface), not the fit loop's counters.

========================================  ===========================================================
private attribute                         why the zoo needs it
========================================  ===========================================================
``_LoggerConnector.should_update_logs``   read logged tensors on the host only on logging steps
``LightningOptimizer._on_before_step``    one ``global_step`` per training iteration of several
``LightningOptimizer._on_after_step``     optimizer updates (manual optimisation), and the direct
                                          updates that bypass Lightning's per-update hooks
``DDPStrategy._ddp_kwargs``               ``find_unused_parameters`` for a DDP strategy the user
                                          built (each update backpropagates one player only)
``TQDMProgressBar._leave``                keep the user's ``leave`` when swapping in the throttled bar
``TQDMProgressBar._should_update``        the throttled bar's redraw rule (overridden)
``LightningCLI._parse_ckpt_path``         resuming builds the model the checkpoint holds (overridden)
``WandbLogger._experiment`` ...           whether a run started, its offline flag, its ``wandb.init``
                                          settings and ``save_dir`` (placed under default_root_dir)
========================================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.strategies import DDPStrategy


def logging_due(trainer: L.Trainer) -> bool:
    """Whether the loggers write at this step (Lightning's own rule: every ``log_every_n_steps``, and when
    stopping)."""
    return trainer._logger_connector.should_update_logs


def step_counting_hooks(optimizer: LightningOptimizer) -> tuple[Callable[[], None], Callable[[], None]]:
    """The hooks by which ``LightningOptimizer.step`` advances ``global_step`` (before and after the step)."""
    return optimizer._on_before_step, optimizer._on_after_step


def set_step_counting_hooks(optimizer: LightningOptimizer, before: Callable[[], None],
                            after: Callable[[], None]) -> None:
    optimizer._on_before_step, optimizer._on_after_step = before, after


def expect_unused_parameters(strategy: DDPStrategy) -> None:
    """``find_unused_parameters=True`` unless the user chose a value (e.g. ``ddp_find_unused_parameters_false``)."""
    strategy._ddp_kwargs.setdefault("find_unused_parameters", True)


def progress_bar_leave(bar: TQDMProgressBar) -> bool:
    return bar._leave


def wandb_started(logger: Any) -> bool:
    """Whether the WandbLogger has created its run (its settings can no longer change)."""
    return logger._experiment is not None


def wandb_offline(logger: Any) -> bool:
    return bool(logger._offline)


def wandb_init_settings(logger: Any) -> dict[str, Any]:
    """The keyword arguments the WandbLogger will pass to ``wandb.init`` (mutable until the run starts)."""
    return logger._wandb_init


def wandb_save_dir(logger: Any) -> str | None:
    return logger._save_dir


def set_wandb_save_dir(logger: Any, save_dir: str) -> None:
    logger._save_dir = save_dir
