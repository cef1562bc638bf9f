"""Fake automatic proposals for the tests that store them: `Proposed` is what `project.proposals.replace_pending`
takes (app.autoseg.ProposedMask has these fields), `square_mask` the boolean square most of them are made of."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.store.masks import mask_to_rle


@dataclass(frozen=True)
class Proposed:
    """One proposed mask as the generator hands it to the store: its RLE, scores and the point it came from."""

    rle: dict
    predicted_iou: float
    stability: float
    point: tuple[float, float]

    @classmethod
    def of_mask(cls, mask: np.ndarray, predicted_iou: float, stability: float,
                point: tuple[float, float]) -> Proposed:
        """The proposal of a boolean mask (its RLE made with the store's own mask_to_rle)."""
        return cls(mask_to_rle(mask), predicted_iou, stability, point)


def square_mask(shape: tuple[int, int], top: int, left: int, side: int = 10) -> np.ndarray:
    """A boolean (H, W) mask of `shape` holding one `side`-pixel square with its top-left corner at (top, left)."""
    mask = np.zeros(shape, dtype=bool)
    mask[top:top + side, left:left + side] = True
    return mask
