"""Where the simulated annotator clicks: the interior point of the ground truth, then of the largest error.

A region's interior point is the maximum of its Euclidean distance transform, computed with the region
padded by one background pixel so the image border counts as boundary. Ties (a rectangle has a whole
line of maxima) go to the maximum nearest the mean of all maxima, so an elongated shape is clicked in its
middle rather than at one end. Error regions are 8-connected components of the missed foreground (false
negatives) and of the false positives, each labelled separately; the largest by pixel count is clicked,
a missed-foreground region first when two are the same size.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Click:
    """A simulated click: pixel column x, row y, and whether it marks foreground (positive) or background."""

    x: int
    y: int
    positive: bool


def interior_point(region: np.ndarray) -> tuple[int, int]:
    """(x, y) of the pixel of a non-empty HxW bool region farthest from its boundary (image border included)."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        raise ValueError("the region is empty: it has no interior point")
    top, left = int(rows[0]), int(cols[0])
    # The crop to the bounding box, padded with background, gives the same distances as the full image.
    crop = np.pad(region[top:rows[-1] + 1, left:cols[-1] + 1], 1).astype(np.uint8)
    dist = cv2.distanceTransform(crop, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    ys, xs = np.nonzero(dist == dist.max())
    k = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
    return left + int(xs[k]), top + int(ys[k])


def first_click(gt: np.ndarray) -> Click:
    """The first click: positive, at the interior point of the ground-truth mask."""
    x, y = interior_point(gt)
    return Click(x, y, True)


def next_click(pred: np.ndarray, gt: np.ndarray) -> Click | None:
    """The next click for a prediction: at the interior point of the largest error region, positive if that
    region is missed foreground, negative if it is a false positive. None when the prediction equals `gt`."""
    best = None  # (area, is_missed, labels, label)
    for missed, error in ((True, gt & ~pred), (False, pred & ~gt)):
        if not error.any():
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(error.astype(np.uint8), connectivity=8)
        label = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[label, cv2.CC_STAT_AREA])
        if best is None or area > best[0]:
            best = (area, missed, labels, label)
    if best is None:
        return None
    _, missed, labels, label = best
    x, y = interior_point(labels == label)
    return Click(x, y, missed)
