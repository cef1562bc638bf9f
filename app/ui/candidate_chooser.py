"""The candidate chooser: thumbnails of SAM's candidate masks for one ambiguous click, best score first.

It floats over the canvas's top-right corner while the draft has several candidates; the one shown is framed,
and clicking another shows that one (Tab does the same in the same order).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap, QPolygon
from PySide6.QtWidgets import QAbstractScrollArea, QHBoxLayout, QToolButton, QWidget

from app.annotate.candidates import Candidates
from app.annotate.image_state import candidate_order
from app.annotate.overlay import around, outlines, tint
from app.tiles.mask_crop import MaskCrop
from app.ui.qt_images import to_pixmap

THUMBNAIL = 96      # screen pixels, the longer side
TINT_ALPHA = 120


def thumbnail(crop: QPixmap, mask: MaskCrop, box: tuple[int, int, int, int], colour: str) -> QPixmap:
    """`crop`, the image's pixels in `box` (x0, y0, x1, y1), with `mask` tinted in `colour` and outlined,
    THUMBNAIL wide."""
    x0, y0, x1, y1 = box
    part = np.ascontiguousarray(mask.region(box))
    drawn = tint(part, colour, TINT_ALPHA)
    scale = THUMBNAIL / max(x1 - x0, y1 - y0)
    out = crop.scaled(QSize(round((x1 - x0) * scale), round((y1 - y0) * scale)),
                      Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    painter = QPainter(out)
    painter.scale(scale, scale)
    if drawn is not None:
        painter.drawPixmap(*drawn[1], to_pixmap(drawn[0]))
    pen = QPen(QColor(colour), 1.5)
    pen.setCosmetic(True)
    painter.setPen(pen)
    for ring in outlines(part):
        painter.drawPolygon(QPolygon([QPoint(int(x), int(y)) for x, y in ring]))
    painter.end()
    return out


class CandidateChooser(QWidget):
    """A row of candidate buttons over a canvas (`view`); `chosen(index)` gives the index in SAM's prediction."""

    chosen = Signal(int)

    def __init__(self, view: QAbstractScrollArea) -> None:
        super().__init__(view)
        self._view = view
        self.setStyleSheet("QToolButton { background: rgba(0,0,0,160); color: white; border: 2px solid transparent;"
                           " border-radius: 3px; padding: 2px; }"
                           "QToolButton:checked { border-color: #ffeb3b; }")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.buttons: list[QToolButton] = []
        self._drawn: tuple | None = None
        self._shown = 0
        view.installEventFilter(self)
        self.hide()

    def show_candidates(self, crop: Callable[[tuple[int, int, int, int]], QPixmap], prediction: Candidates | None,
                        shown: int, colour: str) -> None:
        """Show `prediction`'s candidates, on the image's pixels `crop(box)` gives, with candidate `shown` framed;
        hide without several."""
        if prediction is None or len(prediction.scores) < 2:
            self.clear()
            return
        if self._drawn is None or self._drawn[0] is not prediction or self._drawn[1] != colour:
            self._build(crop, prediction, colour)
            self._drawn = (prediction, colour)
        self._shown = shown
        self._frame()
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()

    def clear(self) -> None:
        """Hide the chooser (no candidates to choose from)."""
        self._drawn = None
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._view and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _build(self, crop: Callable[[tuple[int, int, int, int]], QPixmap], prediction: Candidates,
               colour: str) -> None:
        for button in self.buttons:
            self.row.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        masks = list(prediction.masks)
        box = around(masks)
        pixels = crop(box)
        for rank, index in enumerate(candidate_order(prediction), start=1):
            button = QToolButton(self)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)    # keys stay with the canvas
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            picture = thumbnail(pixels, masks[index], box, colour)
            button.setIcon(QIcon(picture))
            button.setIconSize(picture.size())
            best = " best" if rank == 1 else ""
            button.setText(f"{rank}{best} · {prediction.scores[index]:.2f}")
            button.setToolTip(f"SAM's candidate {rank} of {len(masks)} by score (predicted IoU "
                              f"{prediction.scores[index]:.3f}); click to use it")
            button.setProperty("candidate", index)
            button.clicked.connect(partial(self._clicked, index))
            self.row.addWidget(button)
            self.buttons.append(button)

    def _clicked(self, index: int, _checked: bool = False) -> None:
        self.chosen.emit(index)
        self._frame()   # a click on the candidate already shown changes nothing: it stays framed

    def _frame(self) -> None:
        for button in self.buttons:
            button.setChecked(button.property("candidate") == self._shown)

    def _place(self) -> None:
        area = self._view.viewport().geometry()
        self.move(area.right() - self.width() - 8, area.top() + 8)
