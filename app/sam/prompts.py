"""Checking the prompts of one prediction: points with labels, a box, a low-res mask input.

Coordinates are (x, y) pixels of the original image. Anything malformed raises ValueError
naming the prompt and what is wrong with it, before the model is touched.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prompts:
    """Validated prompts: points (N, 2) float64 with labels (N,) int64, box (4,) x0 y0 x1 y1, mask (1, S, S)."""

    points: np.ndarray | None
    labels: np.ndarray | None
    box: np.ndarray | None
    mask_input: np.ndarray | None


def _finite_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers: {exc}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _check_inside(xy: np.ndarray, name: str, image_hw: tuple[int, int]) -> None:
    h, w = image_hw
    outside = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
    if outside.any():
        x, y = xy[np.argmax(outside)]
        raise ValueError(f"{name} ({x:g}, {y:g}) lies outside the {w}x{h} image (coordinates are x, y pixels)")


def check_prompts(points, labels, box, mask_input, image_hw: tuple[int, int], mask_side: int) -> Prompts:
    """Validate and normalise the prompts for an image of `image_hw` (H, W).

    `labels` are 1 (foreground) or 0 (background), one per point. A box may be given corner to
    corner in any order; it is returned as x0 <= x1, y0 <= y1. `mask_input` is the low-res logits
    of a previous prediction, (S, S) or (1, S, S) with S = `mask_side`.
    """
    if points is None and labels is not None:
        raise ValueError("labels were given without points")
    if points is not None:
        if labels is None:
            raise ValueError("points need labels: 1 for foreground, 0 for background, one per point")
        points = _finite_array(points, "points")
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"points must have shape (N, 2) with N >= 1, got {points.shape}")
        labels = np.asarray(labels)
        if labels.shape != (len(points),):
            raise ValueError(f"labels must have shape ({len(points)},), one per point, got {labels.shape}")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError(f"labels must be 1 (foreground) or 0 (background), got {np.unique(labels).tolist()}")
        labels = labels.astype(np.int64)
        _check_inside(points, "point", image_hw)
    if box is not None:
        box = _finite_array(box, "box")
        if box.size != 4:
            raise ValueError(f"box must be 4 numbers x0, y0, x1, y1, got shape {box.shape}")
        corners = box.reshape(2, 2)
        _check_inside(corners, "box corner", image_hw)
        box = np.concatenate([corners.min(axis=0), corners.max(axis=0)])
    if mask_input is not None:
        mask_input = _finite_array(mask_input, "mask_input").astype(np.float32)
        if mask_input.ndim == 2:
            mask_input = mask_input[None]
        if mask_input.shape != (1, mask_side, mask_side):
            raise ValueError(f"mask_input must be one low-res logit map of shape ({mask_side}, {mask_side}) "
                             f"(a row of a previous Prediction.low_res_logits), got {mask_input.shape}")
    if points is None and box is None and mask_input is None:
        raise ValueError("no prompt: give points with labels, a box, or a mask_input")
    return Prompts(points, labels, box, mask_input)
