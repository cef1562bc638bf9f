"""The learning-rate schedule of every training run: linear warm-up, then cosine decay to a floor."""
from __future__ import annotations

import math


def warmup_cosine(step: int, steps: int, warmup_steps: int, min_ratio: float) -> float:
    """Multiplier of the base learning rate at `step` (0-based) of `steps`: (step + 1) / warmup_steps during
    the warm-up, then a cosine from 1 down to `min_ratio` at the last step (and `min_ratio` after it)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
