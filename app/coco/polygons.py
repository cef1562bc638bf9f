"""Masks <-> COCO polygons.

Outlines come from OpenCV's findContours on the mask doubled in size: contour points then lie a quarter pixel
inside each boundary pixel's edge, so pycocotools, which fills the pixels whose centres fall inside the polygon,
gives back exactly the mask's pixels (thin lines and single pixels included). Vertices within 0.225 pixel of
a straight line through their neighbours are then dropped (approxPolyDP): pixel centres lie at least a quarter
pixel from the outline, so none changes side, and files get about a third smaller. Holes cannot be written as
COCO polygons; `mask_to_polygons` reports them so that the caller can choose (see docs/coco.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from pycocotools import mask as mask_utils

_SIMPLIFY = 0.45   # approxPolyDP tolerance in doubled-mask pixels (0.225 image pixels, under the 0.25 margin)


@dataclass(frozen=True)
class Outline:
    """Polygons of a mask, one per connected part ([x0, y0, x1, y1, ...] in pixels), and whether it has holes."""

    polygons: list[list[float]]
    has_holes: bool


def mask_to_polygons(mask: np.ndarray) -> Outline:
    """The outer outline of each 8-connected part of an HxW bool mask, and whether any part has a hole."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return Outline([], False)
    top, left = int(rows[0]), int(cols[0])
    crop = mask[top:rows[-1] + 1, left:cols[-1] + 1].astype(np.uint8)
    doubled = np.pad(np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1), 1)
    contours, hierarchy = cv2.findContours(doubled, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    polygons, has_holes = [], False
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        if parent >= 0:
            has_holes = True
            continue
        # doubled-crop pixel u (after the 1-pixel pad) has its centre at (u - 1 + 0.5) / 2 in crop pixels
        contour = cv2.approxPolyDP(contour, _SIMPLIFY, True)
        points = (contour.reshape(-1, 2).astype(np.float64) - 0.5) / 2 + (left, top)
        polygons.append([float(v) for v in points.ravel()])
    return Outline(polygons, has_holes)


def polygons_to_rle(polygons, height: int, width: int) -> dict:
    """COCO polygons as one compressed RLE of the image's size (their union).

    Raises ValueError when they are not a list of [x0, y0, x1, y1, x2, y2, ...] lists of at least three points,
    or a point lies more than the image's size outside it (pycocotools overflows, or crashes, on such points).
    """
    if not isinstance(polygons, list) or not polygons:
        raise ValueError("polygon segmentation must be a non-empty list of polygons")
    for polygon in polygons:
        if not isinstance(polygon, list):
            raise ValueError("polygon segmentation must be a list of polygons, each a list of x, y numbers")
        if len(polygon) < 6 or len(polygon) % 2:
            raise ValueError(f"a polygon needs an even number of coordinates, at least 6; one has {len(polygon)}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in polygon):
            raise ValueError("polygon coordinates must be finite numbers")
        xs, ys = polygon[0::2], polygon[1::2]
        if min(xs) < -width or max(xs) > 2 * width or min(ys) < -height or max(ys) > 2 * height:
            raise ValueError(f"a polygon has points far outside the {width}x{height} image (x from {min(xs):g} "
                             f"to {max(xs):g}, y from {min(ys):g} to {max(ys):g})")
    rle = mask_utils.merge(mask_utils.frPyObjects([[float(v) for v in p] for p in polygons], height, width))
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}
