"""The per-mask measures and filters of automatic segmentation: stability, boxes, crop edges, small regions,
overlap with accepted instances."""
from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils

CROP_EDGE_TOLERANCE = 20
"""Pixels: a box side this close to a crop's edge (and not to the image's) marks a mask cut off by the crop."""


def stability_score(logits: np.ndarray, threshold: float, offset: float) -> np.float32:
    """IoU of the mask at `threshold + offset` with the mask at `threshold - offset` (the first lies inside the
    second): pixel counts divided in float32, as SamAutomaticMaskGenerator does; NaN when both are empty."""
    inner = np.count_nonzero(logits > threshold + offset)
    outer = np.count_nonzero(logits > threshold - offset)
    with np.errstate(invalid="ignore"):
        return np.float32(inner) / np.float32(outer)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a mask with the last row and column included (SamAutomaticMaskGenerator's boxes);
    (0, 0, 0, 0) for an empty mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1]))


def near_crop_edge(box: tuple[int, int, int, int], crop: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    """True when a box (x0, y0, x1, y1 in the crop's pixels) reaches an edge of the crop that is not an edge of
    the image of `size` (h, w): its mask was likely cut by the crop."""
    x0, y0 = crop[:2]
    image_box = (0, 0, size[1], size[0])
    for side, (b, c, i) in enumerate(zip(box, crop, image_box)):
        b += x0 if side % 2 == 0 else y0
        if abs(b - c) <= CROP_EDGE_TOLERANCE and abs(b - i) > CROP_EDGE_TOLERANCE:
            return True
    return False


def remove_small_regions(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, bool]:
    """The mask with holes, then islands, of fewer than `min_area` pixels removed (8-connected; the largest
    island stays when all are small), and whether anything changed."""
    mask, filled = _small_components(mask, min_area, holes=True)
    mask, removed = _small_components(mask, min_area, holes=False)
    return mask, filled or removed


def _small_components(mask: np.ndarray, min_area: int, holes: bool) -> tuple[np.ndarray, bool]:
    """Fill the small background components (`holes`) or drop the small foreground ones."""
    region = np.logical_xor(mask, holes).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    small = sizes < min_area
    if not small.any():
        return mask, False
    if holes:
        return mask | np.isin(labels, 1 + np.flatnonzero(small)), True
    keep = 1 + np.flatnonzero(~small) if not small.all() else [1 + int(np.argmax(sizes))]
    return np.isin(labels, keep), True


def inside_fraction(rle: dict, area: int, accepted: dict | None) -> float:
    """Share of a mask's `area` pixels (its compressed RLE) inside the `accepted` RLE; 0 when either is empty."""
    if accepted is None or area == 0:
        return 0.0
    return float(mask_utils.area(mask_utils.merge([rle, accepted], intersect=True))) / area
