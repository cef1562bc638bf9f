"""A large image on the canvas, painted tile by tile: never one full-resolution pixmap of it.

Only the tiles in view are painted, from the level of detail that matches the zoom: the overview, a pyramid level
of a TIFF, or the full resolution (`app.tiles` sources: `region(x0, y0, x1, y1, level)` and `level_sizes`). The
last CACHE_TILES tiles decoded are kept.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from app.ui.qt_images import to_pixmap, to_qimage

OVERVIEW_SIDE = 2048
"""The overview's long side: what is shown while the whole image, or most of it, is in view."""
TILE = 512
"""Side of a painted tile, in pixels of its level."""
CACHE_TILES = 96
"""Decoded tiles kept (about 1 MB each)."""
PAINT_PIXELS = 12_000_000
"""Most pixels one paint decodes from a level: when the level the zoom asks for would need more (a TIFF without a
pyramid, zoomed out part way), a coarser one is painted."""


@dataclass(frozen=True)
class LargePixels:
    """What the canvas shows of a large image: its source and an overview (QImage, OVERVIEW_SIDE long)."""

    source: object
    overview: QImage

    @classmethod
    def of(cls, source) -> LargePixels:
        """The source with its overview made (off the GUI thread: it may read the whole file)."""
        return cls(source, to_qimage(source.overview(OVERVIEW_SIDE)))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the full resolution."""
        return self.source.size


class TiledImageItem(QGraphicsItem):
    """Paints `pixels` (LargePixels) at one scene unit per full-resolution pixel, tile by tile."""

    def __init__(self, pixels: LargePixels) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # paint gets the exposed part
        self._source = pixels.source
        self._height, self._width = pixels.size
        self._overview = QPixmap.fromImage(pixels.overview)
        self._tiles: OrderedDict[tuple[int, int, int], QPixmap] = OrderedDict()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._width, self._height)

    def crop(self, box: tuple[int, int, int, int]) -> QPixmap:
        """The pixels of box (x0, y0, x1, y1), at full resolution when small, else from the overview."""
        x0, y0, x1, y1 = box
        if (x1 - x0) * (y1 - y0) <= PAINT_PIXELS // 4:
            return to_pixmap(self._source.region(x0, y0, x1, y1))
        s = self._overview.width() / self._width
        return self._overview.copy(QRect(int(x0 * s), int(y0 * s), max(1, int((x1 - x0) * s)),
                                         max(1, int((y1 - y0) * s))))

    def paint(self, painter, option, widget=None) -> None:
        zoom = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        exposed = option.exposedRect.intersected(self.boundingRect())
        level = self._level(zoom, exposed)
        if level is None:
            s = self._overview.width() / self._width
            painter.drawPixmap(exposed, self._overview, QRectF(exposed.x() * s, exposed.y() * s,
                                                               exposed.width() * s, exposed.height() * s))
            return
        height, width = self._source.level_sizes[level]
        sx, sy = width / self._width, height / self._height
        for ty in range(int(exposed.top() * sy) // TILE, int(exposed.bottom() * sy) // TILE + 1):
            for tx in range(int(exposed.left() * sx) // TILE, int(exposed.right() * sx) // TILE + 1):
                x0, y0 = tx * TILE, ty * TILE
                x1, y1 = min(width, x0 + TILE), min(height, y0 + TILE)
                if x0 < x1 and y0 < y1:
                    target = QRectF(x0 / sx, y0 / sy, (x1 - x0) / sx, (y1 - y0) / sy)
                    painter.drawPixmap(target, self._tile(level, x0, y0, x1, y1), QRectF(0, 0, x1 - x0, y1 - y0))

    def _level(self, zoom: float, exposed: QRectF) -> int | None:
        """The coarsest level with at least `zoom` pixels per scene unit whose exposed part fits PAINT_PIXELS,
        else the sharpest of those that fit and the overview; None: the overview."""
        area = exposed.width() * exposed.height()
        scales = [w / self._width for _, w in self._source.level_sizes]
        overview = self._overview.width() / self._width
        fitting = [i for i, s in enumerate(scales) if area * s * s <= PAINT_PIXELS]
        sharp = [i for i in fitting if scales[i] >= zoom]
        if overview >= zoom or not fitting:
            return None
        if sharp:
            return max(sharp)
        return min(fitting) if scales[min(fitting)] > overview else None

    def _tile(self, level: int, x0: int, y0: int, x1: int, y1: int) -> QPixmap:
        key = (level, x0, y0)
        pixmap = self._tiles.get(key)
        if pixmap is None:
            pixmap = self._tiles[key] = to_pixmap(self._source.region(x0, y0, x1, y1, level))
            while len(self._tiles) > CACHE_TILES:
                self._tiles.popitem(last=False)
        self._tiles.move_to_end(key)
        return pixmap
