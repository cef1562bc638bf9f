"""Prompts on a large image: each answered by the embedding of one full-resolution tile, or by a downscaled
overview when the prompt is larger than a tile; masks come back as crops in full-image coordinates.

The engine's embedding cache is keyed by pixel content, so the tiles' embeddings are cached like any image's and
`prefetch_around` fills it ahead of the annotator, nearest tiles first.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from app.sam.engine import SamEngine
from app.tiles.grid import Tile, TileGrid
from app.tiles.mask_crop import MaskCrop
from app.tiles.rle import crop_to_rle


class ArraySource:
    """A large image held as one H x W x 3 uint8 array (tiled TIFFs read region by region implement the same
    calls); one level of detail, the full resolution."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.size = rgb.shape[:2]
        self.level_sizes = [self.size]

    def region(self, x0: int, y0: int, x1: int, y1: int, level: int = 0) -> np.ndarray:
        """The pixels of the region, end exclusive, C-contiguous (`level` 0, the only one)."""
        return np.ascontiguousarray(self.rgb[y0:y1, x0:x1])

    def overview(self, side: int) -> np.ndarray:
        """The whole image downscaled (area averaging) to `side` pixels on its long side."""
        h, w = self.size
        scale = side / max(h, w)
        return cv2.resize(self.rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class TiledPrediction:
    """Masks for one prompt set on a large image: `masks` (N, h, w) bool crops whose top-left pixel is image pixel
    `origin` (x, y); `scores` the predicted IoUs; `tile` the tile that answered (None: the overview did, at
    `overview_scale` full-image pixels per overview pixel); `low_res_logits` to refine on the same tile."""

    masks: np.ndarray
    origin: tuple[int, int]
    scores: np.ndarray
    low_res_logits: np.ndarray
    image_size: tuple[int, int]
    tile: Tile | None
    overview_scale: float = 1.0

    @property
    def best(self) -> int:
        """Index of the mask with the highest predicted IoU."""
        return int(np.argmax(self.scores))

    def rle(self, index: int) -> dict:
        """Mask `index` as compressed COCO RLE at full resolution (never a dense array of the whole image)."""
        return crop_to_rle(self.masks[index], self.origin, self.image_size)

    @property
    def frame(self) -> tuple[int, int, int, int] | None:
        """The region (x0, y0, x1, y1) of the tile that answered, whose logits refine on it; None: the overview,
        whose logits refine nothing."""
        tile = self.tile
        return None if tile is None else (tile.x0, tile.y0, tile.x1, tile.y1)

    def crop(self, index: int) -> MaskCrop:
        """Mask `index` as a MaskCrop trimmed to its set pixels, copied (the tile's masks need not be kept)."""
        trimmed = MaskCrop(self.masks[index], self.origin, self.image_size).trimmed()
        return MaskCrop(trimmed.pixels.copy(), trimmed.origin, trimmed.size)


def _anchors(points, labels, box) -> list[tuple[float, float]]:
    """Where prompts lie: the positive points and the box's corners."""
    anchors = [] if box is None else [(box[0], box[1]), (box[2], box[3])]
    if points is not None:
        anchors += [tuple(p) for p, label in zip(np.asarray(points), np.asarray(labels)) if label == 1]
    if not anchors:
        raise ValueError("give a positive point or a box: negative points alone say nothing about where to look")
    return anchors


class TiledPredictor:
    """Answers prompts on `source` (ArraySource or alike) with `engine`, tile by tile of `grid`."""

    def __init__(self, engine: SamEngine, source, grid: TileGrid) -> None:
        self.engine, self.source, self.grid = engine, source, grid
        self._overview: np.ndarray | None = None

    def tile_for(self, points=None, labels=None, box=None) -> Tile | None:
        """The tile that answers these prompts: the one in which the positive points and the box's corners lie
        most centrally (negative points need not lie in it: those outside are left out); None when no tile holds
        them all."""
        return self.grid.for_points(_anchors(points, labels, box))

    def tile_of(self, frame, points=None, labels=None, box=None) -> Tile | None:
        """The tile whose region is `frame` (x0, y0, x1, y1: an earlier prediction's, whose logits refine) when it
        holds the positive points and the box's corners; None otherwise (the prompts are answered afresh)."""
        anchors = _anchors(points, labels, box)
        return next((t for t in self.grid.tiles if (t.x0, t.y0, t.x1, t.y1) == tuple(frame)
                     and all(t.contains(x, y) for x, y in anchors)), None)

    def predict(self, points=None, labels=None, box=None, mask_input=None, multimask: bool = True,
                tile: Tile | None = None) -> TiledPrediction:
        """Masks for prompts in full-image pixels (as `SamEngine.predict`). `tile`: answer on this one (the one of
        an earlier prediction whose logits are `mask_input`); otherwise `tile_for` picks it, or the overview
        answers when none holds the prompts (no `mask_input` then: its logits are not the tile's)."""
        tile = tile or self.tile_for(points, labels, box)
        if tile is None:
            return self._on_overview(points, labels, box, multimask)
        self.engine.set_image(self.source.region(tile.x0, tile.y0, tile.x1, tile.y1))
        shift = np.array([tile.x0, tile.y0], dtype=np.float64)
        tile_points = tile_labels = None
        if points is not None:
            points, labels = np.asarray(points, np.float64).reshape(-1, 2), np.asarray(labels)
            inside = np.array([tile.contains(x, y) for x, y in points])
            if inside.any():
                tile_points, tile_labels = points[inside] - shift, labels[inside]
        tile_box = None if box is None else np.asarray(box, np.float64) - np.tile(shift, 2)
        p = self.engine.predict(tile_points, tile_labels, tile_box, mask_input, multimask)
        return TiledPrediction(p.masks, (tile.x0, tile.y0), p.scores, p.low_res_logits, self.source.size, tile)

    def prefetch_around(self, x: float, y: float, tiles: int = 9,
                        progress: Callable[[int, int, str], None] | None = None,
                        cancel: Callable[[], bool] | None = None):
        """Embed the `tiles` tiles nearest to (x, y) into the cache, nearest first (`prefetch_tiles`)."""
        return self.prefetch_tiles(self.grid.nearest(x, y, tiles), progress, cancel)

    def prefetch_tiles(self, tiles: list[Tile], progress: Callable[[int, int, str], None] | None = None,
                       cancel: Callable[[], bool] | None = None):
        """Embed these tiles into the cache in their order (`SamEngine.prefetch`'s report); the current image of
        the engine is unchanged, so this may run in a worker thread while another predicts. A tile that cannot be
        read (a damaged segment of the file) is listed in the report's `failed`, by its region; the others go on."""
        regions, failed = [], []
        for t in tiles:   # read up front: bounded by the count
            try:
                regions.append(self.source.region(t.x0, t.y0, t.x1, t.y1))
            except Exception as exc:  # noqa: BLE001 - tifffile raises many kinds on a damaged segment
                name = getattr(self.source, "path", "the image")
                failed.append(f"{name}: tile x {t.x0}-{t.x1}, y {t.y0}-{t.y1}: {exc}")
        report = self.engine.prefetch(regions, progress=progress, cancel=cancel)
        report.total += len(failed)
        report.failed += failed
        return report

    def _on_overview(self, points, labels, box, multimask: bool) -> TiledPrediction:
        """Prompts no tile holds, on the whole image downscaled to the model's input; the masks are scaled back to
        full resolution over the region the prompts and the masks cover."""
        side = self.engine.side
        if self._overview is None:
            self._overview = self.source.overview(side)
        self.engine.set_image(self._overview)
        height, width = self.source.size
        scale = max(height, width) / max(self._overview.shape[:2])
        p = self.engine.predict(None if points is None else np.asarray(points, np.float64) / scale, labels,
                                None if box is None else np.asarray(box, np.float64) / scale, None, multimask)
        rows, cols = np.nonzero(p.masks.any(axis=0))
        if not len(rows):
            empty = np.zeros((len(p.masks), 1, 1), bool)
            return TiledPrediction(empty, (0, 0), p.scores, p.low_res_logits, (height, width), None, scale)
        oy0, oy1, ox0, ox1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        x0, y0 = int(ox0 * scale), int(oy0 * scale)
        x1, y1 = min(width, int(np.ceil(ox1 * scale))), min(height, int(np.ceil(oy1 * scale)))
        masks = np.stack([cv2.resize(m[oy0:oy1, ox0:ox1].astype(np.uint8), (x1 - x0, y1 - y0),
                                     interpolation=cv2.INTER_NEAREST).astype(bool) for m in p.masks])
        return TiledPrediction(masks, (x0, y0), p.scores, p.low_res_logits, (height, width), None, scale)
