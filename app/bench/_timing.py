"""Small timing helpers shared by the benchmarks: interleaved repeats, medians."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def time_interleaved(fns: dict[str, Callable[[], object]], repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run each function `warmup` times, then `repeat` rounds of all of them in turn; seconds per call.

    Interleaving puts the functions under the same machine load, so their ratio is fair on a noisy box.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return statistics.median(values)
