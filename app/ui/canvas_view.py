"""The canvas: a QGraphicsView that zooms, pans and turns mouse gestures into prompts and strokes.

Left click = positive point, right click = negative point, left drag = box (prompt tool); with the
brush or eraser, a drag paints (right drag always erases). Wheel zooms at the cursor, Ctrl+wheel sizes
the brush, middle drag or Space+drag pans; the window's actions call `zoom_by`, `actual_size`, `fit` and
`pan` for the keyboard. Gestures come out as signals in image pixels; the view changes nothing itself.

`looked_at` says which part of the image is in view once a pan or zoom has settled (the tiles of a large image
around it are embedded ahead, `app.tiles.ahead`).

The view stays fitted to the window while it is resized until the annotator zooms; after that a resize
(a dock opened, scroll bars appearing) keeps the zoom.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QLabel

from app.annotate.draft import Stroke
from app.ui.canvas_layers import CanvasLayers
from app.ui.tiled_image import LargePixels

PROMPT, BRUSH, ERASER = "prompt", "brush", "eraser"
DRAG_THRESHOLD = 4  # screen pixels a press must move to be a box rather than a click
MIN_RADIUS, MAX_RADIUS = 1.0, 200.0
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0  # screen pixels per image pixel
ZOOM_STEP = 1.25  # per wheel notch or key press
PAN_STEP = 0.2  # share of the visible canvas one pan key moves
SETTLE_MS = 300  # how long the view must rest after a pan or zoom before `looked_at` says where it is


class CanvasView(QGraphicsView):
    """Shows `layers`; emits `point_clicked(x, y, positive)`, `box_dragged(x0, y0, x1, y1)`, `stroke_drawn(Stroke)`,
    `hovered((x, y) or None)` when the image pixel under the cursor changes (None: the cursor left the canvas), and
    `looked_at((x0, y0, x1, y1))`, the scene rect in view in image pixels, SETTLE_MS after the view last moved."""

    point_clicked = Signal(float, float, bool)
    box_dragged = Signal(float, float, float, float)
    stroke_drawn = Signal(object)
    brush_changed = Signal(float)
    hovered = Signal(object)
    looked_at = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.layers = CanvasLayers(self.scene())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor("#262626"))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.WheelFocus)  # a zoom with the wheel gives the canvas the pan keys
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.tool, self.brush_radius, self.has_image = PROMPT, 8.0, False
        self.fitted = False  # True from fit() until the annotator zooms: resizing then fits again
        self.hover: tuple[int, int] | None = None  # the image pixel under the cursor
        self._press: tuple[Qt.MouseButton, QPoint, QPointF] | None = None
        self._pan_from: QPoint | None = None
        self._space = False
        self._stroke: list[QPointF] = []
        pen = QPen(QColor("#00e5ff"), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._rubber = self.scene().addRect(QRectF(), pen)
        self._trail = self.scene().addPath(QPainterPath())
        self._cursor = self.scene().addEllipse(QRectF(), QPen(QColor("white"), 0))
        for z, item in enumerate((self._rubber, self._trail, self._cursor), start=20):
            item.setZValue(z)
            item.hide()
        self.hud = QLabel(self)  # a child of the view, not of the viewport, which scrolling moves with its contents
        self.hud.setStyleSheet("background: rgba(0,0,0,150); color: white; padding: 3px 6px; border-radius: 3px;")
        self.hud.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hud.hide()
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS, timeout=self._settled)
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):   # a pan, and a zoom's new ranges
            bar.valueChanged.connect(self._moved)
            bar.rangeChanged.connect(self._moved)

    # Display ----------------------------------------------------------------------------------------
    def show_image(self, image: QImage | LargePixels | None) -> None:
        """Show an image (a large one tile by tile; None: an empty canvas) and fit it to the window."""
        size = self.layers.set_image(image)
        self.has_image = size is not None
        self.setSceneRect(QRectF(0, 0, *size) if size is not None else QRectF())
        self.fit()
        self._moved()

    def fit(self) -> None:
        """Fit the whole image in the window, and keep it fitted while the window is resized."""
        if self.has_image:
            self.fitted = True
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float, at: QPoint | None = None) -> None:
        """Zoom by `factor`, keeping the image pixel under `at` (viewport pixels; default: its centre) in place."""
        if self.has_image and MIN_ZOOM <= self.zoom() * factor <= MAX_ZOOM:
            self.fitted = False
            self._zoom_at(self.viewport().rect().center() if at is None else at, factor)

    def actual_size(self) -> None:
        """Zoom to 100 %: one screen pixel per image pixel, about the centre of the canvas."""
        if self.zoom() > 0:
            self.zoom_by(1 / self.zoom())

    def pan(self, right: float, down: float) -> None:
        """Scroll by these shares of the visible canvas (negative: left, up)."""
        viewport = self.viewport()
        for bar, share, size in ((self.horizontalScrollBar(), right, viewport.width()),
                                 (self.verticalScrollBar(), down, viewport.height())):
            bar.setValue(bar.value() + round(share * size))

    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self.transform().m11()

    def set_hud(self, text: str) -> None:
        """Show a line over the canvas's top-left corner (empty: hide it)."""
        self.hud.setText(text)
        self.hud.adjustSize()
        self.hud.move(self.viewport().geometry().topLeft() + QPoint(8, 8))
        self.hud.setVisible(bool(text))
        self.hud.raise_()

    def set_tool(self, tool: str) -> None:
        """PROMPT, BRUSH or ERASER."""
        self.tool = tool
        self._cursor.setVisible(tool != PROMPT and self.underMouse())
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if tool == PROMPT else Qt.CursorShape.BlankCursor)

    def set_brush_radius(self, radius: float) -> None:
        """Brush radius in image pixels (clamped)."""
        self.brush_radius = float(min(MAX_RADIUS, max(MIN_RADIUS, radius)))
        self._place_cursor(self._cursor.rect().center())
        self.brush_changed.emit(self.brush_radius)

    # Events -----------------------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_brush_radius(self.brush_radius * 1.15 ** steps)
        elif steps:
            self.zoom_by(ZOOM_STEP ** steps, event.position().toPoint())
        event.accept()

    def mousePressEvent(self, event) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self.has_image and button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            scene = self.mapToScene(event.position().toPoint())
            self._press = (button, event.position().toPoint(), scene)
            if self.tool != PROMPT:
                self._stroke = [scene]
                self._draw_trail()
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position().toPoint()
        scene = self.mapToScene(pos)
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        self._place_cursor(scene)
        self._hover((math.floor(scene.x()), math.floor(scene.y())) if self.has_image else None)
        if self._press is None:
            return
        if self._stroke:
            self._stroke.append(scene)
            self._draw_trail()
        elif self._press[0] == Qt.MouseButton.LeftButton and self._beyond_click(pos):
            self._rubber.setRect(QRectF(self._press[2], scene).normalized())
            self._rubber.show()

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.set_tool(self.tool)
            return
        press, self._press = self._press, None
        if press is None or event.button() != press[0]:
            return
        button, pressed_at, start = press
        end = self.mapToScene(event.position().toPoint())
        dragged = self._beyond_click(event.position().toPoint(), pressed_at)
        if self._stroke:
            points = tuple((p.x() - 0.5, p.y() - 0.5) for p in self._stroke)
            erase = self.tool == ERASER or button == Qt.MouseButton.RightButton
            self._stroke = []
            self._trail.hide()
            self.stroke_drawn.emit(Stroke(points, self.brush_radius, erase))
        elif button == Qt.MouseButton.LeftButton and dragged:
            self._rubber.hide()
            self.box_dragged.emit(math.floor(start.x()), math.floor(start.y()), math.floor(end.x()),
                                  math.floor(end.y()))
        else:
            self.point_clicked.emit(math.floor(end.x()), math.floor(end.y()), button == Qt.MouseButton.LeftButton)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.set_tool(self.tool)
        else:
            super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self._cursor.hide()
        self._hover(None)
        super().leaveEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitted:
            self.fit()

    # Helpers ----------------------------------------------------------------------------------------
    def _moved(self, *_values) -> None:
        """The view moved: `looked_at` once it has rested for SETTLE_MS."""
        self._settle.start()

    def _settled(self) -> None:
        if self.has_image:
            rect = self.mapToScene(self.viewport().rect()).boundingRect()
            self.looked_at.emit((rect.left(), rect.top(), rect.right(), rect.bottom()))

    def _zoom_at(self, pos: QPoint, factor: float) -> None:
        """Scale by `factor` keeping the image pixel under `pos` (viewport pixels) where it is."""
        anchor = self.mapToScene(pos)
        self.scale(factor, factor)
        shift = self.mapFromScene(anchor) - pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + shift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + shift.y())

    def _beyond_click(self, pos: QPoint, pressed_at: QPoint | None = None) -> bool:
        start = pressed_at if pressed_at is not None else self._press[1]
        return (pos - start).manhattanLength() > DRAG_THRESHOLD

    def _hover(self, pixel: tuple[int, int] | None) -> None:
        if pixel != self.hover:
            self.hover = pixel
            self.hovered.emit(pixel)

    def _place_cursor(self, centre: QPointF) -> None:
        r = self.brush_radius
        self._cursor.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        colour = QColor("#ff4136") if self.tool == ERASER else QColor("white")
        pen = QPen(colour, 1.5)
        pen.setCosmetic(True)
        self._cursor.setPen(pen)
        self._cursor.setVisible(self.tool != PROMPT and self.has_image)

    def _draw_trail(self) -> None:
        path = QPainterPath(self._stroke[0])
        for point in self._stroke[1:] or [self._stroke[0] + QPointF(0.01, 0)]:
            path.lineTo(point)
        erase = self.tool == ERASER or (self._press is not None and self._press[0] == Qt.MouseButton.RightButton)
        pen = QPen(QColor(255, 65, 54, 140) if erase else QColor(46, 204, 64, 140), 2 * self.brush_radius,
                   Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        self._trail.setPen(pen)
        self._trail.setPath(path)
        self._trail.show()
