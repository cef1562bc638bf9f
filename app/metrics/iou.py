"""Intersection over union of two binary masks."""
from __future__ import annotations

import numpy as np


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two HxW boolean masks of the same shape; 1.0 when both are empty."""
    if pred.shape != gt.shape:
        raise ValueError(f"masks of different shapes: {pred.shape} and {gt.shape}")
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else float(np.count_nonzero(pred & gt) / union)
