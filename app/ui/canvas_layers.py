"""The scene items that show the session: image, accepted instances, pending proposals, the draft mask, points and
box.

One scene unit is one image pixel, with the image's top-left corner at (0, 0).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene

from app.annotate.draft import Prompts
from app.annotate.overlay import FILL_ALPHA, scaled_alpha, tint
from app.annotate.proposal_shapes import Outline, edge_image, outline_of
from app.tiles.mask_crop import MaskCrop
from app.ui.qt_images import to_pixmap
from app.ui.tiled_image import LargePixels, TiledImageItem

DRAFT_ALPHA = 110
DRAFT_OUTLINE = QColor("#ffeb3b")
POSITIVE, NEGATIVE = QColor("#2ecc40"), QColor("#ff4136")
BOX_COLOUR = QColor("#00e5ff")
PROPOSAL_COLOUR, PROPOSAL_HALO = QColor("#ffffff"), QColor(0, 0, 0, 150)
STALE_COLOUR = QColor(255, 255, 255, 110)
EDGE_ALPHA, STALE_EDGE_ALPHA, HOVERED_EDGE_ALPHA = 170, 90, 255   # ragged proposals' edge pixels
POINT_RADIUS = 5.0  # screen pixels


def _cosmetic(colour: QColor, width: float = 2.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


def _path(polygons: list[np.ndarray]) -> QPainterPath:
    """Closed polygons (pixel indices) as one path through the pixels' centres, built from arrays (fast)."""
    if not polygons:
        return QPainterPath()
    rings = [np.vstack([p, p[:1], [[np.nan, np.nan]]]) for p in (p.astype(np.float64) + 0.5 for p in polygons)]
    points = np.vstack(rings)
    return pg.arrayToQPath(points[:, 0], points[:, 1], connect="finite")


def _show(item: QGraphicsPixmapItem, drawn: tuple[np.ndarray, tuple[int, int]] | None) -> None:
    if drawn is None:
        item.setPixmap(QPixmap())
    else:
        item.setPixmap(to_pixmap(drawn[0]))
        item.setOffset(*drawn[1])


class CanvasLayers:
    """Image (one pixmap; a large image's `TiledImageItem`), instance overlay, pending proposals (outlines: dashed
    on a dark halo, stale ones dotted and dimmer, the one under the cursor solid; ragged ones as edge pixels,
    `proposal_shapes.Outline`), draft (fill and dashed outline), prompt points and box, in z order."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.image = scene.addPixmap(QPixmap())
        self.instances = scene.addPixmap(QPixmap())
        self.stale_proposals = scene.addPath(QPainterPath(), _cosmetic(STALE_COLOUR, 1.5, Qt.PenStyle.DotLine))
        self.proposal_halo = scene.addPath(QPainterPath(), _cosmetic(PROPOSAL_HALO, 3))
        self.proposals = scene.addPath(QPainterPath(), _cosmetic(PROPOSAL_COLOUR, 1.5, Qt.PenStyle.DashLine))
        self.hovered_proposal = scene.addPath(QPainterPath(), _cosmetic(PROPOSAL_COLOUR, 2.5))
        self.stale_ragged = scene.addPixmap(QPixmap())
        self.ragged_proposals = scene.addPixmap(QPixmap())
        self.hovered_ragged = scene.addPixmap(QPixmap())
        self.draft_fill = scene.addPixmap(QPixmap())
        self.draft_outline = scene.addPath(QPainterPath(), _cosmetic(DRAFT_OUTLINE, 2, Qt.PenStyle.DashLine))
        self.box = scene.addRect(QRectF(), _cosmetic(BOX_COLOUR, 2))
        for z, item in enumerate((self.image, self.instances, self.stale_proposals, self.proposal_halo,
                                  self.proposals, self.stale_ragged, self.ragged_proposals, self.hovered_proposal,
                                  self.hovered_ragged, self.draft_fill, self.draft_outline, self.box)):
            item.setZValue(z)
        for item in (self.stale_proposals, self.proposal_halo, self.proposals, self.hovered_proposal,
                     self.draft_outline):
            # Stroked once per zoom, then blitted: a ragged proposal (thousands of polygons) took 250 ms to stroke
            # at every repaint (hover, pan, a click elsewhere), 2 ms from the cache.
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._scene = scene
        self._points: list[QGraphicsEllipseItem] = []
        self.tiled: TiledImageItem | None = None   # a large image's, in place of the `image` pixmap

    def set_image(self, image: QImage | LargePixels | None) -> tuple[int, int] | None:
        """Show an image (a large one tile by tile; None: nothing), clear everything drawn over the previous one;
        the image's (width, height)."""
        if self.tiled is not None:
            self.tiled.close()
            self._scene.removeItem(self.tiled)
            self.tiled = None
        large = isinstance(image, LargePixels)
        self.image.setPixmap(QPixmap.fromImage(image) if image is not None and not large else QPixmap())
        if large:
            self.tiled = TiledImageItem(image)
            self.tiled.setZValue(self.image.zValue())
            self._scene.addItem(self.tiled)
        self.set_instances(None)
        self.set_proposals([], [])
        self.set_hovered_proposal(None)
        self.set_draft(None, "#ffffff")
        self.set_prompts(Prompts())
        if image is None:
            return None
        return (image.size[1], image.size[0]) if large else (image.width(), image.height())

    def image_crop(self, box: tuple[int, int, int, int]) -> QPixmap:
        """The image's pixels in box (x0, y0, x1, y1), end exclusive (of a large image: possibly downscaled)."""
        if self.tiled is not None:
            return self.tiled.crop(box)
        x0, y0, x1, y1 = box
        return self.image.pixmap().copy(QRect(x0, y0, x1 - x0, y1 - y0))

    def set_instances(self, drawn: tuple[np.ndarray, tuple[int, int]] | None) -> None:
        """Show the accepted instances: an RGBA image and its top-left corner, as `compose` makes (None: none)."""
        _show(self.instances, drawn)

    def show_instances(self, shown: bool) -> None:
        """Show or hide every accepted instance at once (the draft stays)."""
        self.instances.setVisible(shown)

    def set_proposals(self, current: list[Outline], stale: list[Outline]) -> None:
        """Show the pending proposals' outlines: those of the adapter version in use, and the stale ones."""
        path = _path([p for o in current for p in o.polygons])
        self.proposal_halo.setPath(path)
        self.proposals.setPath(path)
        self.stale_proposals.setPath(_path([p for o in stale for p in o.polygons]))
        _show(self.ragged_proposals, edge_image(current, PROPOSAL_COLOUR.name(), EDGE_ALPHA))
        _show(self.stale_ragged, edge_image(stale, PROPOSAL_COLOUR.name(), STALE_EDGE_ALPHA))

    def set_hovered_proposal(self, outline: Outline | None) -> None:
        """Draw the outline of the proposal under the cursor solid (None: none)."""
        self.hovered_proposal.setPath(_path(outline.polygons if outline is not None else []))
        _show(self.hovered_ragged, edge_image([outline], PROPOSAL_COLOUR.name(), HOVERED_EDGE_ALPHA)
              if outline is not None else None)

    def set_draft(self, mask: MaskCrop | None, colour: str, waiting: bool = False,
                  fill_alpha: int = FILL_ALPHA) -> None:
        """Show the draft mask filled in the label's colour with a dashed outline (dotted while SAM works; none for a
        ragged mask, `proposal_shapes.RAGGED_POINTS`, whose fill shows it); its fill follows the instances'
        `fill_alpha` (a little stronger), its outline stays. Only the mask's set pixels' box is drawn."""
        tight = None if mask is None else mask.trimmed()
        drawn = None if tight is None else tint(tight.pixels, colour, scaled_alpha(DRAFT_ALPHA, fill_alpha),
                                                tight.origin)
        _show(self.draft_fill, drawn)
        path = QPainterPath()
        if drawn is not None:
            path = _path(outline_of(tight.pixels, tight.origin).polygons)
        self.draft_outline.setPath(path)
        style = Qt.PenStyle.DotLine if waiting else Qt.PenStyle.DashLine
        self.draft_outline.setPen(_cosmetic(DRAFT_OUTLINE, 2, style))

    def set_prompts(self, prompts: Prompts) -> None:
        """Show points as green (positive) and red (negative) dots, and the box as a rectangle."""
        for item in self._points:
            self._scene.removeItem(item)
        self._points = []
        r = POINT_RADIUS
        for x, y, positive in prompts.points:
            dot = self._scene.addEllipse(QRectF(-r, -r, 2 * r, 2 * r), _cosmetic(QColor("white"), 1.5),
                                         QBrush(POSITIVE if positive else NEGATIVE))
            dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            dot.setPos(x + 0.5, y + 0.5)
            dot.setZValue(10)
            self._points.append(dot)
        if prompts.box is None:
            self.box.setRect(QRectF())
            self.box.hide()
        else:
            x0, y0, x1, y1 = prompts.box
            self.box.setRect(QRectF(QPointF(x0, y0), QPointF(x1 + 1, y1 + 1)))
            self.box.show()
