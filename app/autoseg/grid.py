"""Where the point prompts go: the per-layer point grids and the crop boxes (as SamAutomaticMaskGenerator lays them)."""
from __future__ import annotations

import math

import numpy as np

from app.autoseg.params import AutoParams


def point_grid(n_per_side: int) -> np.ndarray:
    """(n², 2) x, y points in [0, 1], the centres of an n x n grid of cells, row by row (x fastest)."""
    centres = np.linspace(1 / (2 * n_per_side), 1 - 1 / (2 * n_per_side), n_per_side)
    xs, ys = np.meshgrid(centres, centres)
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)


def crop_boxes(size: tuple[int, int], params: AutoParams) -> list[tuple[tuple[int, int, int, int], int]]:
    """(x0, y0, x1, y1) crop boxes of an image of `size` (h, w) with their layer: the whole image (layer 0),
    then for layer n = 1 .. crop_n_layers, 2**n x 2**n crops that overlap by crop_overlap_ratio of the short
    side x 2 / 2**n, column by column."""
    h, w = size
    boxes = [((0, 0, w, h), 0)]
    for layer in range(1, params.crop_n_layers + 1):
        n = 2 ** layer
        overlap = int(params.crop_overlap_ratio * min(h, w) * (2 / n))
        crop_w, crop_h = (math.ceil((overlap * (n - 1) + length) / n) for length in (w, h))
        xs = [int((crop_w - overlap) * i) for i in range(n)]
        ys = [int((crop_h - overlap) * i) for i in range(n)]
        boxes += [((x0, y0, min(x0 + crop_w, w), min(y0 + crop_h, h)), layer) for x0 in xs for y0 in ys]
    return boxes
