"""A progress bar that redraws a few times per second, not at every training iteration."""

from __future__ import annotations

import sys
import time
from typing import ClassVar

from lightning.pytorch.callbacks import TQDMProgressBar

from zoo.base import is_logging_step


class ThrottledProgressBar(TQDMProgressBar):
    """Lightning's TQDM bar, redrawn at most every ``min_interval`` seconds (and at the last batch):
    by default 0.2 s on a terminal and 10 s when the output goes to a file, and once per redraw.

    The stock bar redraws and collects its metrics after every batch (``refresh_rate=1``), which costs
    about half a millisecond: 5 % of a 2-D toy GAN's iteration on a CPU and more on a GPU. A time
    budget keeps slow image models updating at every iteration and fast ones cheap. ``cli.py``
    installs it in place of the default bar; an explicitly configured bar is left alone.
    """

    #: seconds between redraws on a terminal, and when the output goes to a file or pipe (a cluster's log:
    #: every redraw appends a copy of the bar there)
    INTERACTIVE_INTERVAL: ClassVar[float] = 0.2
    LOG_INTERVAL: ClassVar[float] = 10.0

    def __init__(self, min_interval: float | None = None, leave: bool = False) -> None:
        super().__init__(refresh_rate=1, leave=leave)
        if min_interval is None:
            min_interval = self.INTERACTIVE_INTERVAL if sys.stdout.isatty() else self.LOG_INTERVAL
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0 seconds, got {min_interval}")
        self.min_interval = min_interval
        self._last_redraw = float("-inf")
        self._batches_done = 0  # of the running epoch, drawn or not
        self._metrics: dict[str, int | str | float | dict[str, float]] | None = None  # as of the last logging step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        # As Lightning's bar, but one redraw per update (it redraws for the count and again for the metrics),
        # and the metrics read only on logging steps: reading them converts the logged tensors to floats, a
        # host-device sync, which the logger pays on those steps anyway.
        n = batch_idx + 1
        self._batches_done = n
        if self._metrics is None or is_logging_step(trainer):
            self._metrics = self.get_metrics(trainer, pl_module)
        bar = self.train_progress_bar
        if not bar.disable and self._should_update(n, bar.total):
            bar.n = n
            bar.set_postfix(self._metrics, refresh=False)
            bar.refresh()

    def _catch_up(self) -> None:
        """Count the batches since the last redraw, so the bar's last drawing (the metrics at the epoch
        end, the close at the end of fit, e.g. stopped by max_steps mid-epoch) shows where training is."""
        bar = self.train_progress_bar
        if bar.n < self._batches_done:
            bar.n = self._batches_done

    def on_train_start(self, trainer, pl_module) -> None:
        self._metrics = None  # a new fit: nothing logged yet
        super().on_train_start(trainer, pl_module)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._batches_done = 0
        super().on_train_epoch_start(trainer, pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._catch_up()
        super().on_train_epoch_end(trainer, pl_module)

    def on_train_end(self, *args) -> None:
        self._catch_up()
        super().on_train_end(*args)

    def _should_update(self, current: int, total: int | float) -> bool:
        if not self.is_enabled:
            return False
        now = time.monotonic()
        if current == total or now - self._last_redraw >= self.min_interval:
            self._last_redraw = now
            return True
        return False
