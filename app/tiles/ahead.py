"""Which tiles of a large image to embed ahead of the annotator: those nearest the centre of what they look at."""
from __future__ import annotations

import logging
import os

from app.tiles.grid import Tile, TileGrid

log = logging.getLogger(__name__)

AHEAD_ENV = "MOPEFT_TILES_AHEAD"

DEFAULT_TILES_AHEAD = 9
"""Tiles embedded in the background around the view: about the 3 x 3 block at its centre (about 3 minutes for
vit_b on a 2-core CPU, 36 MiB of embeddings, within the engine cache's 16 entries in memory)."""


def ahead_count() -> int:
    """How many tiles to embed ahead: $MOPEFT_TILES_AHEAD (a whole number; 0: none), else DEFAULT_TILES_AHEAD. A
    value that is not a whole number of at least 0 is logged and the default used."""
    value = os.environ.get(AHEAD_ENV, "").strip()
    if not value:
        return DEFAULT_TILES_AHEAD
    if value.isdigit():
        return int(value)
    log.warning("%s=%r is not a whole number of tiles; %d are embedded ahead", AHEAD_ENV, value, DEFAULT_TILES_AHEAD)
    return DEFAULT_TILES_AHEAD


def view_centre(view, size: tuple[int, int]) -> tuple[float, float]:
    """The centre of the part of `view` (x0, y0, x1, y1 in image pixels) inside an image of `size` (height, width);
    the image's centre when no part of it is in view."""
    height, width = size
    x0, y0, x1, y1 = max(0.0, view[0]), max(0.0, view[1]), min(float(width), view[2]), min(float(height), view[3])
    if x0 >= x1 or y0 >= y1:
        return width / 2, height / 2
    return (x0 + x1) / 2, (y0 + y1) / 2


def tiles_ahead(grid: TileGrid, view, count: int) -> list[Tile]:
    """The `count` tiles to embed next for an annotator looking at `view` (x0, y0, x1, y1 in image pixels): those
    nearest the centre of its part of the image, nearest first."""
    return grid.nearest(*view_centre(view, (grid.height, grid.width)), count)
