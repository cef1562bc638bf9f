"""Writing small PNG files for the store tests, under any name."""
import cv2
import numpy as np


def write_png(path, height=4, width=5, value=0):
    """Write a grey PNG at `path` (str or bytes: bytes allow names that are not UTF-8)."""
    ok, data = cv2.imencode(".png", np.full((height, width), value, np.uint8))
    with open(path, "wb") as f:
        f.write(data.tobytes())
