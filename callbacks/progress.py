"""A progress bar that redraws a few times per second, not at every training iteration."""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import TQDMProgressBar


class ThrottledProgressBar(TQDMProgressBar):
    """Lightning's TQDM bar, redrawn at most every ``min_interval`` seconds (and at the last batch).

    The stock bar redraws and collects its metrics after every batch (``refresh_rate=1``), which costs
    about half a millisecond: 5 % of a 2-D toy GAN's iteration on a CPU and more on a GPU. A time
    budget keeps slow image models updating at every iteration and fast ones cheap. ``cli.py``
    installs it in place of the default bar; an explicitly configured bar is left alone.
    """

    def __init__(self, min_interval: float = 0.2, leave: bool = False) -> None:
        super().__init__(refresh_rate=1, leave=leave)
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0 seconds, got {min_interval}")
        self.min_interval = min_interval
        self._last_redraw = float("-inf")

    def _should_update(self, current: int, total: int | float) -> bool:
        if not self.is_enabled:
            return False
        now = time.monotonic()
        if current == total or now - self._last_redraw >= self.min_interval:
            self._last_redraw = now
            return True
        return False
