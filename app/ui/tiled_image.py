"""A large image on the canvas, painted tile by tile: never one full-resolution pixmap of it.

Only the tiles in view are painted, from the level of detail that matches the zoom: the overview, a pyramid level
of a TIFF, or the full resolution (`app.tiles` sources: `region(x0, y0, x1, y1, level)` and `level_sizes`). Tiles
are decoded off the GUI thread (`TileDecoder`), only those of the view shown last; until one comes, its place is
painted from the overview or a coarser level. The last CACHE_TILES tiles decoded are kept.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QRect, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem

from app.tiles.tile_requests import TileKey, TileRequest, TileRequests
from app.ui.qt_images import to_pixmap, to_qimage
from app.ui.tile_decoder import TileDecoder

OVERVIEW_SIDE = 2048
"""The overview's long side: what is shown while the whole image, or most of it, is in view."""
TILE = 512
"""Side of a painted tile, in pixels of its level."""
CACHE_TILES = 96
"""Decoded tiles kept (about 1 MB each)."""
PAINT_PIXELS = 12_000_000
"""Most pixels of a level one view shows (and so asks to decode): when the level the zoom asks for would need more
(a TIFF without a pyramid, zoomed out part way), a coarser one is painted. It keeps a view's tiles within
CACHE_TILES, so tiles in view never evict each other."""
CROP_PIXELS = 1 << 20
"""Most pixels `crop` (the candidates' thumbnails) reads at full resolution, on the GUI thread: a few tens of ms."""


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


class TiledImageItem(QGraphicsObject):
    """Paints `pixels` (LargePixels) at one scene unit per full-resolution pixel, tile by tile. A tile not yet
    decoded is painted from the overview (and any coarser level's tile decoded) while a `TileDecoder` decodes it
    off the GUI thread; only its rect is repainted when it comes (`tile_decoded(key)`). `close()` stops the
    decoder."""

    tile_decoded = Signal(object)   # the TileKey of a tile the decoder delivered

    def __init__(self, pixels: LargePixels) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # paint gets the exposed part
        self._source = pixels.source
        self._height, self._width = pixels.size
        self._overview = QPixmap.fromImage(pixels.overview)
        self._tiles: OrderedDict[TileKey, QPixmap] = OrderedDict()
        self._failed: set[TileKey] = set()
        self._requests = TileRequests(limit=CACHE_TILES)
        self._decoder = TileDecoder(self._source, self._requests)
        self._decoder.decoded.connect(self._arrived, Qt.ConnectionType.QueuedConnection)
        self._decoder.failed.connect(self._not_decoded, Qt.ConnectionType.QueuedConnection)

    def close(self) -> None:
        """Stop decoding (waits for the one tile being decoded, if any)."""
        self._decoder.stop()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._width, self._height)

    def crop(self, box: tuple[int, int, int, int]) -> QPixmap:
        """The pixels of box (x0, y0, x1, y1), at full resolution when small (read here, on the GUI thread: at most
        CROP_PIXELS), else from the overview."""
        x0, y0, x1, y1 = box
        if (x1 - x0) * (y1 - y0) <= CROP_PIXELS:
            return to_pixmap(self._source.region(x0, y0, x1, y1))
        s = self._overview.width() / self._width
        return self._overview.copy(QRect(int(x0 * s), int(y0 * s), max(1, int((x1 - x0) * s)),
                                         max(1, int((y1 - y0) * s))))

    def paint(self, painter, option, widget=None) -> None:
        zoom = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        exposed = option.exposedRect.intersected(self.boundingRect())
        visible = exposed if widget is None else (
            painter.worldTransform().inverted()[0].mapRect(QRectF(widget.rect())).intersected(self.boundingRect()))
        level = self._level(zoom, visible)
        if level is None:
            self._requests.want([])
            self._draw_overview(painter, exposed)
            return
        for box in self._boxes(level, exposed):
            pixmap = self._tiles.get((level, box[0], box[1]))
            if pixmap is None:
                self._draw_placeholder(painter, level, box)
            else:
                self._tiles.move_to_end((level, box[0], box[1]))
                painter.drawPixmap(self._target(level, box), pixmap, QRectF(0, 0, box[2] - box[0], box[3] - box[1]))
        self._ask(level, visible)

    def _level(self, zoom: float, visible: QRectF) -> int | None:
        """The coarsest level with at least `zoom` pixels per scene unit whose visible part fits PAINT_PIXELS,
        else the sharpest of those that fit and the overview; None: the overview."""
        area = visible.width() * visible.height()
        scales = [w / self._width for _, w in self._source.level_sizes]
        overview = self._overview.width() / self._width
        fitting = [i for i, s in enumerate(scales) if area * s * s <= PAINT_PIXELS]
        sharp = [i for i in fitting if scales[i] >= zoom]
        if overview >= zoom or not fitting:
            return None
        if sharp:
            return max(sharp)
        return min(fitting) if scales[min(fitting)] > overview else None

    def _boxes(self, level: int, rect: QRectF) -> list[tuple[int, int, int, int]]:
        """The tiles of `level` that `rect` (scene units) touches, as boxes in that level's pixels, row by row."""
        height, width = self._source.level_sizes[level]
        sx, sy = width / self._width, height / self._height
        boxes = []
        for ty in range(int(rect.top() * sy) // TILE, int(rect.bottom() * sy) // TILE + 1):
            for tx in range(int(rect.left() * sx) // TILE, int(rect.right() * sx) // TILE + 1):
                x0, y0 = tx * TILE, ty * TILE
                x1, y1 = min(width, x0 + TILE), min(height, y0 + TILE)
                if x0 < x1 and y0 < y1:
                    boxes.append((x0, y0, x1, y1))
        return boxes

    def _target(self, level: int, box: tuple[int, int, int, int]) -> QRectF:
        """Where a tile of `level` lies, in scene units."""
        height, width = self._source.level_sizes[level]
        sx, sy = width / self._width, height / self._height
        x0, y0, x1, y1 = box
        return QRectF(x0 / sx, y0 / sy, (x1 - x0) / sx, (y1 - y0) / sy)

    def _draw_overview(self, painter, rect: QRectF) -> None:
        s = self._overview.width() / self._width
        painter.drawPixmap(rect, self._overview, QRectF(rect.x() * s, rect.y() * s, rect.width() * s,
                                                        rect.height() * s))

    def _draw_placeholder(self, painter, level: int, box: tuple[int, int, int, int]) -> None:
        """The tile's place from the overview, then from the coarser levels' tiles decoded, coarsest first."""
        target = self._target(level, box)
        self._draw_overview(painter, target)
        painter.save()
        painter.setClipRect(target, Qt.ClipOperation.IntersectClip)
        for coarse in range(len(self._source.level_sizes) - 1, level, -1):
            for x0, y0, x1, y1 in self._boxes(coarse, target):
                pixmap = self._tiles.get((coarse, x0, y0))
                if pixmap is not None:
                    painter.drawPixmap(self._target(coarse, (x0, y0, x1, y1)), pixmap, QRectF(0, 0, x1 - x0, y1 - y0))
        painter.restore()

    def _ask(self, level: int, visible: QRectF) -> None:
        """Ask the decoder for the visible tiles of `level` not decoded yet, those nearest the view's centre first."""
        centre = visible.center()

        def distance(box: tuple[int, int, int, int]) -> float:
            middle = self._target(level, box).center() - centre
            return middle.x() ** 2 + middle.y() ** 2

        missing = [box for box in self._boxes(level, visible)
                   if (level, box[0], box[1]) not in self._tiles and (level, box[0], box[1]) not in self._failed]
        self._requests.want([TileRequest(level, box) for box in sorted(missing, key=distance)])

    @Slot(object, QImage)
    def _arrived(self, key: TileKey, image: QImage) -> None:
        self._requests.received(key)
        self._tiles[key] = QPixmap.fromImage(image)
        while len(self._tiles) > CACHE_TILES:
            self._tiles.popitem(last=False)
        level, x0, y0 = key
        self.update(self._target(level, (x0, y0, x0 + image.width(), y0 + image.height())))
        self.tile_decoded.emit(key)

    @Slot(object, str)
    def _not_decoded(self, key: TileKey, _message: str) -> None:
        """A tile the source could not give stays painted from its placeholder, and is not asked for again."""
        self._requests.received(key)
        self._failed.add(key)
