"""Masks: HxW bool numpy arrays <-> COCO compressed RLE (pycocotools), with area and bounding box."""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def mask_to_rle(mask: np.ndarray) -> dict:
    """Encode an HxW bool mask as {'size': [h, w], 'counts': str}, the compressed COCO RLE."""
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode a compressed COCO RLE (counts as str or bytes) into a C-contiguous HxW bool array."""
    return np.ascontiguousarray(mask_utils.decode(rle)).view(np.bool_)   # pycocotools writes only 0 and 1


def rle_area(rle: dict) -> int:
    """Number of pixels set in the mask."""
    return int(mask_utils.area(rle))


def mask_bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end exclusive, of a bool mask's set pixels; None when it has none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def rle_bbox(rle: dict) -> tuple[int, int, int, int]:
    """Tight bounding box (x, y, width, height) in whole pixels; (0, 0, 0, 0) for an empty mask."""
    x, y, w, h = mask_utils.toBbox(rle)
    return int(x), int(y), int(w), int(h)
