"""ProposedMask: one instance proposed by automatic segmentation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.store.masks import rle_to_mask


@dataclass(frozen=True)
class ProposedMask:
    """A proposed instance: its mask as compressed COCO RLE ({'size': [h, w], 'counts': str}, as
    `app.store.masks.mask_to_rle` writes it), area in pixels, tight bbox (x, y, w, h), SAM's predicted IoU,
    its stability score, and the point prompt (x, y image pixels) that produced it."""

    rle: dict
    area: int
    bbox: tuple[int, int, int, int]
    predicted_iou: float
    stability: float
    point: tuple[float, float]

    def mask(self) -> np.ndarray:
        """The mask, H x W bool."""
        return rle_to_mask(self.rle)
