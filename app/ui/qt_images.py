"""numpy arrays to QImage and QPixmap."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

_FORMATS = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}


def _view(array: np.ndarray) -> QImage:
    height, width, channels = array.shape
    return QImage(array.data, width, height, width * channels, _FORMATS[channels])


def to_qimage(array: np.ndarray) -> QImage:
    """An H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 array as a QImage that owns its pixels (safe across threads)."""
    return _view(np.ascontiguousarray(array, dtype=np.uint8)).copy()


def to_pixmap(array: np.ndarray) -> QPixmap:
    """An H x W x 3 or H x W x 4 uint8 array as a QPixmap (GUI thread only), with one copy of the pixels."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return QPixmap.fromImage(_view(array))
