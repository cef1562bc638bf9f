"""numpy arrays to QImage (copied, so the array may go away)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

_FORMATS = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}


def to_qimage(array: np.ndarray) -> QImage:
    """An H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 array as a QImage that owns its pixels."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width, channels = array.shape
    image = QImage(array.data, width, height, width * channels, _FORMATS[channels])
    return image.copy()
