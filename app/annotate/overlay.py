"""Masks drawn for display, without Qt: instance overlays as one RGBA image, and mask outlines as polygons.

Images are made only over the masks' bounding box (returned with its top-left corner), so a small object on a
large image costs little to redraw.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.store.masks import mask_bounds
from app.tiles.mask_crop import MaskCrop

FILL_ALPHA = 90
EDGE_ALPHA = 230
SELECTED_FILL_ALPHA = 150


@dataclass(frozen=True)
class OverlayMask:
    """One mask to draw: bool pixels whose top-left is image pixel `origin` (the whole image's HxW, or a crop
    holding the bbox and a pixel around it), '#rrggbb' colour, bbox (x, y, w, h) or None for the whole mask."""

    mask: np.ndarray
    colour: str
    bbox: tuple[int, int, int, int] | None = None
    selected: bool = False
    origin: tuple[int, int] = (0, 0)


def rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' as three ints."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _pixel(r: int, g: int, b: int, a: int) -> np.uint32:
    """One RGBA pixel as the uint32 whose bytes are r, g, b, a: images are painted as uint32 arrays (fast)."""
    return np.array([r, g, b, a], dtype=np.uint8).view(np.uint32)[0]


def _rgba(pixels: np.ndarray) -> np.ndarray:
    """An H x W uint32 image as H x W x 4 uint8."""
    return pixels.view(np.uint8).reshape(*pixels.shape, 4)


def _box(item: OverlayMask) -> tuple[int, int, int, int] | None:
    if item.bbox is None:
        box = mask_bounds(item.mask)
        ox, oy = item.origin
        return None if box is None else (box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy)
    x, y, w, h = item.bbox
    return (x, y, x + w, y + h) if w > 0 and h > 0 else None


def scaled_alpha(alpha: int, fill_alpha: int) -> int:
    """`alpha` (a fill's alpha at the default FILL_ALPHA) for fills drawn at `fill_alpha` instead, within 0-255."""
    return max(0, min(255, round(alpha * fill_alpha / FILL_ALPHA)))


def compose(shape: tuple[int, int], masks: list[OverlayMask],
            fill_alpha: int = FILL_ALPHA) -> tuple[np.ndarray, tuple[int, int]] | None:
    """An RGBA uint8 image over the masks' joint bounding box and its top-left (x, y); None if nothing to draw.

    Each mask is filled translucent in its colour (alpha `fill_alpha`) with an opaque edge; later masks are
    drawn over earlier ones, and a selected mask, filled more strongly and edged in white, over all of them.
    The edges keep their opacity whatever the fill's, so a fill of 0 leaves the outlines.
    """
    fills = {False: scaled_alpha(FILL_ALPHA, fill_alpha), True: scaled_alpha(SELECTED_FILL_ALPHA, fill_alpha)}
    ordered = sorted(masks, key=lambda item: item.selected)
    drawn = [(item, box) for item in ordered for box in [_box(item)] if box is not None]
    if not drawn:
        return None
    height, width = shape
    ox, oy = max(0, min(b[0] for _, b in drawn) - 1), max(0, min(b[1] for _, b in drawn) - 1)
    ex, ey = min(width, max(b[2] for _, b in drawn) + 1), min(height, max(b[3] for _, b in drawn) + 1)
    out = np.zeros((ey - oy, ex - ox), dtype=np.uint32)
    for item, (x0, y0, x1, y1) in drawn:
        x0, y0, x1, y1 = max(0, x0 - 1), max(0, y0 - 1), min(width, x1 + 1), min(height, y1 + 1)
        mx, my = item.origin
        sub = np.ascontiguousarray(item.mask[y0 - my:y1 - my, x0 - mx:x1 - mx])
        inner = cv2.erode(sub.view(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                          borderValue=0).view(bool)
        region = out[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        colour = rgb(item.colour)
        region[inner] = _pixel(*colour, fills[item.selected])
        region[sub & ~inner] = _pixel(255, 255, 255, 255) if item.selected else _pixel(*colour, EDGE_ALPHA)
    return _rgba(out), (ox, oy)


def outlines(mask: np.ndarray, origin: tuple[int, int] = (0, 0)) -> list[np.ndarray]:
    """The outer and hole boundaries of a mask as closed polygons (N x 2 int32 x, y pixels, shifted by `origin`)."""
    if mask is None or not mask.any():
        return []
    padded = np.pad(mask.view(np.uint8), 1)
    contours, _ = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    shift = np.array(origin) - 1
    return [c.reshape(-1, 2) + shift for c in contours if len(c) >= 2]


def tint(mask: np.ndarray, colour: str, alpha: int,
         origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, tuple[int, int]] | None:
    """`mask` (whose top-left is image pixel `origin`) filled with `colour` at `alpha` as RGBA uint8 over its
    bounding box, and the box's top-left (x, y) in image pixels; None for an empty mask."""
    box = mask_bounds(mask)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1])
    return _rgba(crop.view(np.uint8).astype(np.uint32) * _pixel(*rgb(colour), alpha)), (x0 + origin[0], y0 + origin[1])


def around(masks: list[MaskCrop], margin: float = 0.25, least: int = 24) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end exclusive, of a view around every mask's set pixels: their joint box grown by `margin`
    of its size on each side (to at least `least` pixels across), within the image; the whole image when all
    the masks are empty."""
    height, width = masks[0].size
    boxes = [box for box in (m.bounds() for m in masks) if box is not None]
    if not boxes:
        return 0, 0, width, height
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    grow_x = max(margin * (x1 - x0), (least - (x1 - x0)) / 2, 0)
    grow_y = max(margin * (y1 - y0), (least - (y1 - y0)) / 2, 0)
    return (max(0, int(x0 - grow_x)), max(0, int(y0 - grow_y)), min(width, int(np.ceil(x1 + grow_x))),
            min(height, int(np.ceil(y1 + grow_y))))
