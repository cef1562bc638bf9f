"""Small colour icons for labels."""
from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPixmap


def swatch(colour: str, size: int = 14) -> QIcon:
    """A square icon filled with '#rrggbb'."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
