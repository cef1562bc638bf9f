"""A large TIFF (tiled or in strips, BigTIFF included, pyramidal or not) read region by region: only the segments
a region touches are read and decoded, so a 20,000 x 20,000 slide never lies whole in memory.

The same calls as `predictor.ArraySource`: `region(x0, y0, x1, y1, level)`, `overview(side)`, `size` and
`level_sizes`. 8-bit grey, RGB and RGBA images (the alpha dropped); other sample formats are refused with a
message that names the file (`app.image_file.tiff_region_problem`). Regions may be read from several threads at
once (the canvas's tile decoder and the model's worker): the file reads are serialised, the decoding is not.
"""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import tifffile

from app.image_file import is_large, is_tiff, tiff_region_problem


class TiffSource:
    """Regions of the first image of a TIFF file, at full resolution, and overviews from its pyramid."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tif = tifffile.TiffFile(self.path)
        self._lock = threading.Lock()
        series = self._tif.series[0]
        self._levels = [level.keyframe for level in series.levels]
        for page in self._levels:   # tifffile makes a page's decoder on first use, not thread-safely: make it now
            page.init_decode()
        problem = tiff_region_problem(series)
        if problem:
            self._tif.close()
            raise ValueError(f"{self.path}: only 8-bit grey, RGB or RGBA TIFFs are read region by region (this one "
                             f"is {problem})")
        page = self._levels[0]
        self.size = (page.imagelength, page.imagewidth)

    @property
    def level_sizes(self) -> list[tuple[int, int]]:
        """(height, width) of each pyramid level, the full resolution first."""
        return [(p.imagelength, p.imagewidth) for p in self._levels]

    def close(self) -> None:
        """Close the file."""
        self._tif.close()

    def region(self, x0: int, y0: int, x1: int, y1: int, level: int = 0) -> np.ndarray:
        """The RGB pixels (uint8, C-contiguous) of the region x0 <= x < x1, y0 <= y < y1 of pyramid `level`."""
        page = self._levels[level]
        out = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        seg_h = page.tilelength if page.is_tiled else page.rowsperstrip
        seg_w = page.tilewidth if page.is_tiled else page.imagewidth
        across = -(-page.imagewidth // seg_w)
        for row in range(y0 // seg_h, -(-y1 // seg_h)):
            for col in range(x0 // seg_w, -(-x1 // seg_w)):
                self._paste(page, row * across + col, out, x0, y0, x1, y1)
        return out

    def overview(self, side: int) -> np.ndarray:
        """The whole image downscaled to `side` pixels on its long side, from the smallest pyramid level at least
        that large (the full image, read in bands, when the file has no pyramid)."""
        height, width = self.size
        level = max((i for i, p in enumerate(self._levels) if max(p.imagelength, p.imagewidth) >= side), default=0)
        page = self._levels[level]
        scale = side / max(page.imagelength, page.imagewidth)
        out_w, out_h = max(1, round(page.imagewidth * scale)), max(1, round(page.imagelength * scale))
        band = max(1, min(page.imagelength, 4 * 1024 * 1024 // max(1, page.imagewidth)))   # ~12 MB of RGB a band
        rows = []
        for y in range(0, page.imagelength, band):
            pixels = self.region(0, y, page.imagewidth, min(page.imagelength, y + band), level)
            rows.append(cv2.resize(pixels, (out_w, max(1, round(pixels.shape[0] * scale))),
                                   interpolation=cv2.INTER_AREA))
        return cv2.resize(np.vstack(rows), (out_w, out_h), interpolation=cv2.INTER_AREA)

    def _paste(self, page, index: int, out: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
        with self._lock:
            handle = self._tif.filehandle
            offset, count = page.dataoffsets[index], page.databytecounts[index]
            handle.seek(offset)
            data = handle.read(count) if count else None
        segment, (_, _, sy, sx, _), _ = page.decode(data, index, jpegtables=page.jpegtables)
        if segment is None:
            return
        segment = segment[0]                                           # (length, width, samples)
        h, w = segment.shape[:2]
        ax0, ay0, ax1, ay1 = max(x0, sx), max(y0, sy), min(x1, sx + w), min(y1, sy + h)
        if ax0 >= ax1 or ay0 >= ay1:
            return
        part = segment[ay0 - sy:ay1 - sy, ax0 - sx:ax1 - sx]
        out[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = part[..., :3] if part.shape[-1] >= 3 else part[..., :1]


def open_large(path: str | Path) -> TiffSource | None:
    """A TiffSource for a large TIFF (`app.image_file.is_large`) that can be read region by region; None for any
    other file, which is decoded whole (and a broken one, which the whole-image loader then names)."""
    try:
        with open(path, "rb") as f:
            if not is_tiff(f.read(4)):
                return None
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0] if tif.series else None
            page = None if series is None else series.levels[0].keyframe
            if page is None or tiff_region_problem(series) or not is_large(page.imagewidth, page.imagelength):
                return None
    except Exception:  # noqa: BLE001 - tifffile raises many kinds on a broken file; load_image reports it
        return None
    return TiffSource(path)
