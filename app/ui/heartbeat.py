"""A 10 ms timer on the GUI thread whose gaps show how long the event loop stalled (for tests and benchmarks)."""
from __future__ import annotations

import time

from PySide6.QtCore import QTimer


class Heartbeat:
    """`start()`, work, `stop()`; `gaps` holds the seconds between beats (a long gap: the loop stalled)."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        """Forget earlier gaps and start beating."""
        self.gaps, self._last = [], time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        """Stop beating (the gaps stay)."""
        self.timer.stop()
