"""Keep the best weights of a run: score held-out images every N steps, put the best-scoring weights back at the end.

On small datasets a kind can memorise the training images, and the held-out score then falls for most of a
run while the training loss keeps dropping (camouflage in docs/benchmarks-history.md: 0.47 one-click mIoU after 25 of
150 steps, 0.35 at the end). Only the trainable (PEFT) parameters are copied, so a copy costs little.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from segment_anything.modeling import Sam

from app.metrics.evaluate import evaluate_sam


class KeepBest:
    """Scores the model with `score(sam)` (higher is better) every `every` steps and after the last one;
    `restore` puts back the trainable weights of the best score (ties keep the earlier step)."""

    def __init__(self, score: Callable[[Sam], float], every: int) -> None:
        if every < 1:
            raise ValueError(f"the validation interval must be at least 1 step, got {every}")
        self.score, self.every = score, every
        self.best_step, self.best_score = 0, -float("inf")
        self._weights: dict[str, torch.Tensor] = {}

    def after_step(self, sam: Sam, step: int, steps: int) -> float | None:
        """Score after `step` of `steps` when it is due (None otherwise); remember the weights when best."""
        if step % self.every and step != steps:
            return None
        value = float(self.score(sam))
        if value > self.best_score:
            self.best_step, self.best_score = step, value
            self._weights = {n: p.detach().clone() for n, p in sam.named_parameters() if p.requires_grad}
        return value

    def restore(self, sam: Sam) -> int:
        """Load the best weights into `sam`; returns their step (0 when nothing was scored: `sam` is left as is)."""
        params = dict(sam.named_parameters())
        with torch.no_grad():
            for name, value in self._weights.items():
                params[name].copy_(value)
        return self.best_step


def one_click_score(images) -> Callable[[Sam], float]:
    """A `KeepBest` score: one-click mIoU on `images` (EvalImages), as `mopeft bench adapt` measures it."""
    return lambda sam: evaluate_sam(sam, images, max_clicks=1).summary()["miou_1click"]
