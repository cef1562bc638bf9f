"""Overlapping square tiles that cover an image, and which tile answers a prompt.

A tile is the model's input side (1024 for SAM) at full resolution; neighbours share `overlap` pixels, the last
tile of a row or column is moved back to end at the image's edge, so every tile is whole unless the image is
smaller than one. A prompt is answered by the tile in which it lies most centrally: the tile whose nearest inner
edge (one that is not the image's own edge) is farthest from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

DEFAULT_FACTOR = 2.0
"""An image is tiled when its long side is more than this many times the model's input (a 1024 model: 2048 px)."""


def needs_tiles(height: int, width: int, model_input: int, factor: float = DEFAULT_FACTOR) -> bool:
    """True when an image of this size is better seen as tiles than resized to the model's input whole."""
    return max(height, width) > factor * model_input


@dataclass(frozen=True)
class Tile:
    """The image region x0 <= x < x1, y0 <= y < y1 (pixels), and which of its edges are the image's own."""

    x0: int
    y0: int
    x1: int
    y1: int
    image_size: tuple[int, int]   # (height, width)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def contains(self, x: float, y: float) -> bool:
        """True when the point (x, y) lies in the tile."""
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def margin(self, x: float, y: float) -> float:
        """Distance from (x, y), inside the tile, to its nearest inner edge (inf when every edge is the image's)."""
        h, w = self.image_size
        gaps = [x - self.x0 if self.x0 > 0 else math.inf, self.x1 - x if self.x1 < w else math.inf,
                y - self.y0 if self.y0 > 0 else math.inf, self.y1 - y if self.y1 < h else math.inf]
        return min(gaps)


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


class TileGrid:
    """The tiles of an image of `height` x `width`: `tile` pixels a side, neighbours overlapping by `overlap`."""

    def __init__(self, height: int, width: int, tile: int = 1024, overlap: int = 256) -> None:
        if height < 1 or width < 1:
            raise ValueError(f"an image of {width} x {height} pixels has no tiles")
        if tile < 1 or not 0 <= overlap < tile:
            raise ValueError(f"tiles of {tile} px need an overlap from 0 to {tile - 1} px, not {overlap}")
        self.height, self.width, self.tile, self.overlap = height, width, tile, overlap

    @classmethod
    def for_model(cls, height: int, width: int, side: int) -> TileGrid:
        """The tiles a model of input `side` sees the image as: its side, neighbours sharing a quarter of it."""
        return cls(height, width, side, side // 4)

    @cached_property
    def tiles(self) -> list[Tile]:
        """Every tile, row by row."""
        size = (self.height, self.width)
        return [Tile(x, y, min(x + self.tile, self.width), min(y + self.tile, self.height), size)
                for y in _starts(self.height, self.tile, self.overlap)
                for x in _starts(self.width, self.tile, self.overlap)]

    def nearest(self, x: float, y: float, count: int) -> list[Tile]:
        """The `count` tiles whose centres lie nearest to (x, y), nearest first (ties row by row)."""
        def distance(t: Tile) -> float:
            return ((t.x0 + t.x1) / 2 - x) ** 2 + ((t.y0 + t.y1) / 2 - y) ** 2

        return sorted(self.tiles, key=distance)[:max(0, count)]

    def for_points(self, points) -> Tile | None:
        """The tile holding every (x, y) of `points` in which the nearest of them is farthest from an inner edge;
        None when no tile holds them all."""
        points = [(float(x), float(y)) for x, y in points]
        holding = [t for t in self.tiles if all(t.contains(x, y) for x, y in points)]
        if not holding:
            return None
        return max(holding, key=lambda t: min(t.margin(x, y) for x, y in points))

    def for_box(self, box) -> Tile | None:
        """The tile that holds the whole box (x0, y0, x1, y1; x1, y1 inclusive pixels) most centrally; None when
        the box is larger than any tile holds."""
        x0, y0, x1, y1 = box
        return self.for_points([(x0, y0), (x1, y0), (x0, y1), (x1, y1)])
