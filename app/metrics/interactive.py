"""One instance through the click protocol: first click, then corrective clicks, IoU after each.

Which of SAM's masks is used: the first click asks for SAM's three masks (multimask) and takes the one
with the highest predicted IoU, as SAM's demo does for a single ambiguous click; every later round asks for
the single mask, with all clicks so far and the previous round's low-res logits (of the mask taken) as
mask input, as SamPredictor recommends for several points.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.metrics.clicks import Click, first_click, next_click
from app.metrics.iou import mask_iou

class PredictionLike(Protocol):
    """What a predictor returns: masks (N, H, W) bool, scores (N,), low_res_logits (N, S, S)."""

    masks: np.ndarray
    scores: np.ndarray
    low_res_logits: np.ndarray


class Predictor(Protocol):
    """An interactive segmenter: `app.sam.engine.SamEngine`, or any object with these two methods."""

    def set_image(self, image: np.ndarray) -> object:
        """Make an H x W x 3 uint8 RGB image the current one."""

    def predict(self, *, points: np.ndarray, labels: np.ndarray, mask_input: np.ndarray | None,
                multimask: bool) -> PredictionLike:
        """Masks for points (N, 2) x, y with labels (N,) 1/0 and an optional (1, S, S) mask input."""


@dataclass(frozen=True)
class InstanceResult:
    """The IoU after each click (always `max_clicks` values) for one ground-truth instance of one image."""

    image: str
    instance: object
    ious: tuple[float, ...]

    @property
    def iou_1click(self) -> float:
        """IoU after the first click."""
        return self.ious[0]

    def noc(self, threshold: float) -> int:
        """Clicks until the IoU first reaches `threshold`; `len(ious)` (the maximum) when it never does."""
        return clicks_to_reach(self.ious, threshold)

    @property
    def noc85(self) -> int:
        """Clicks to reach IoU 0.85 (the maximum if never)."""
        return self.noc(0.85)

    @property
    def noc90(self) -> int:
        """Clicks to reach IoU 0.90 (the maximum if never)."""
        return self.noc(0.90)


def clicks_to_reach(ious, threshold: float) -> int:
    """1-based index of the first IoU >= `threshold`, or `len(ious)` when none reaches it."""
    for k, value in enumerate(ious, start=1):
        if value >= threshold:
            return k
    return len(ious)


def click_ious(predictor: Predictor, gt: np.ndarray, max_clicks: int = 20) -> list[float]:
    """IoU of the predicted mask with `gt` (HxW bool, non-empty) after each of `max_clicks` simulated clicks.

    The predictor's current image must be the one `gt` belongs to. When a prediction equals `gt` there is no
    error left to click on: the remaining rounds are not run and keep IoU 1.
    """
    if max_clicks < 1:
        raise ValueError(f"max_clicks must be at least 1, got {max_clicks}")
    gt = np.asarray(gt, dtype=bool)
    clicks: list[Click] = [first_click(gt)]
    mask_input = None
    ious: list[float] = []
    while True:
        first = len(clicks) == 1
        prediction = predictor.predict(
            points=np.array([[c.x, c.y] for c in clicks], dtype=np.float64),
            labels=np.array([int(c.positive) for c in clicks], dtype=np.int64),
            mask_input=mask_input, multimask=first)
        k = int(np.argmax(prediction.scores)) if first else 0
        mask = np.asarray(prediction.masks[k], dtype=bool)
        ious.append(mask_iou(mask, gt))
        if len(ious) == max_clicks:
            return ious
        click = next_click(mask, gt)
        if click is None:
            return ious + [ious[-1]] * (max_clicks - len(ious))
        clicks.append(click)
        mask_input = np.asarray(prediction.low_res_logits[k])[None]
