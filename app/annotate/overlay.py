"""Masks drawn for display, without Qt: instance overlays as one RGBA image, and mask outlines as polygons."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FILL_ALPHA = 90
EDGE_ALPHA = 230
SELECTED_FILL_ALPHA = 150


@dataclass(frozen=True)
class OverlayMask:
    """One mask to draw: HxW bool, '#rrggbb' colour, bbox (x, y, w, h) or None for the whole image."""

    mask: np.ndarray
    colour: str
    bbox: tuple[int, int, int, int] | None = None
    selected: bool = False


def rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' as three ints."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def compose(shape: tuple[int, int], masks: list[OverlayMask]) -> np.ndarray:
    """An H x W x 4 uint8 RGBA image: each mask filled translucent in its colour with an opaque edge.

    Later masks are drawn over earlier ones; a selected mask is filled more strongly and edged in white.
    """
    out = np.zeros((*shape, 4), dtype=np.uint8)
    for item in masks:
        x, y, w, h = item.bbox if item.bbox is not None else (0, 0, shape[1], shape[0])
        x0, y0 = max(0, x - 1), max(0, y - 1)
        x1, y1 = min(shape[1], x + w + 1), min(shape[0], y + h + 1)
        sub = np.ascontiguousarray(item.mask[y0:y1, x0:x1])
        if not sub.any():
            continue
        inner = cv2.erode(sub.view(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                          borderValue=0).astype(bool)
        edge = sub & ~inner
        region = out[y0:y1, x0:x1]
        fill = (*rgb(item.colour), SELECTED_FILL_ALPHA if item.selected else FILL_ALPHA)
        region[inner] = fill
        region[edge] = (255, 255, 255, 255) if item.selected else (*rgb(item.colour), EDGE_ALPHA)
    return out


def outlines(mask: np.ndarray) -> list[np.ndarray]:
    """The outer and hole boundaries of a mask as closed polygons (N x 2 int32 x, y pixel corners)."""
    if mask is None or not mask.any():
        return []
    padded = np.pad(mask.view(np.uint8), 1)
    contours, _ = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2) - 1 for c in contours if len(c) >= 2]


def tint(mask: np.ndarray, colour: str, alpha: int) -> np.ndarray:
    """An H x W x 4 uint8 RGBA image: `mask` filled with `colour` at `alpha`, transparent elsewhere."""
    out = np.zeros((*mask.shape, 4), dtype=np.uint8)
    out[mask] = (*rgb(colour), alpha)
    return out
