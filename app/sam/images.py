"""Load an image file (PNG, JPEG, BMP, TIFF) into the RGB that is shown and embedded, keeping its full grid.

TIFF goes through tifffile, everything else through Pillow (16-bit colour PNG through OpenCV, which
Pillow would cut to 8 bits). The size is read from the header and checked against a pixel limit
before anything is decoded. How dtypes, channels and orientation are handled: docs/images.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile

from app.image_file import (MAX_IMAGE_PIXELS, MAX_PIXELS_ENV,  # noqa: F401  (shared with the store; re-exported)
                            exif_orientation, is_tiff, max_image_pixels, pillow_open, too_many_pixels)
from app.sam.errors import SamError
from app.sam.image_normalise import to_display_rgb


class ImageLoadError(SamError, ValueError):
    """An image file that cannot be loaded: missing, empty, corrupt, unsupported or too large."""


@dataclass(frozen=True)
class ImageData:
    """An image ready for display and embedding.

    rgb: H x W x 3 uint8, read-only, on the source's full-resolution grid (after EXIF orientation).
    path: the file it came from, or None for an array.
    source_dtype: dtype of the source pixels ("uint8", "uint16", "float32", ...).
    channels: channels in the source (1 grey, 2, 3 RGB, 4 RGBA or more for multichannel TIFF).
    stretch: source values shown as 0 and 255 by the contrast stretch, or None when shown unchanged.
    orientation: the EXIF orientation that was applied (1 = none).
    """

    rgb: np.ndarray
    path: Path | None
    source_dtype: str
    channels: int
    stretch: tuple[float, float] | None = None
    orientation: int = 1

    @property
    def height(self) -> int:
        """Rows of the image grid (masks have this height)."""
        return self.rgb.shape[0]

    @property
    def width(self) -> int:
        """Columns of the image grid (masks have this width)."""
        return self.rgb.shape[1]


def _image(array: np.ndarray, path: Path | None, channels: int, orientation: int = 1) -> ImageData:
    rgb, stretch = to_display_rgb(array)
    rgb = rgb.view()
    rgb.flags.writeable = False
    return ImageData(rgb, path, str(array.dtype), channels, stretch, orientation)


def image_from_array(array: np.ndarray, path: str | Path | None = None) -> ImageData:
    """ImageData for an H x W or H x W x C array of any dtype; the rgb may share memory with 8-bit input."""
    array = np.asarray(array)
    channels = 1 if array.ndim == 2 else array.shape[-1]
    try:
        return _image(array, Path(path) if path else None, channels)
    except ValueError as exc:
        raise ImageLoadError(f"{path or 'array'}: {exc}") from exc


def _check_size(path: Path, width: int, height: int, limit: int) -> None:
    problem = too_many_pixels(width, height, limit)
    if problem:
        raise ImageLoadError(f"{path}: {problem}")


_ORIENT = {  # EXIF orientation -> the view that shows the image upright (as Pillow's exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _is_16bit_colour_png(head: bytes) -> bool:
    # IHDR is always the first chunk: bit depth at byte 24, colour type at 25 (2 = RGB, 6 = RGBA).
    return head[:8] == b"\x89PNG\r\n\x1a\n" and head[24:25] == b"\x10" and head[25:26] in (b"\x02", b"\x06")


def _read_pillow(path: Path, head: bytes, limit: int) -> tuple[np.ndarray, int, int]:
    with pillow_open(path) as im:
        _check_size(path, im.width, im.height, limit)
        orientation = exif_orientation(im)
        if _is_16bit_colour_png(head):
            array = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if array is None:
                raise ImageLoadError(f"{path}: OpenCV cannot decode this 16-bit PNG (truncated or corrupt)")
            array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        else:
            if im.mode in ("P", "PA"):
                im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
            elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            array = np.asarray(im)
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels == 2:  # grey + alpha: the alpha is not shown
        array = array[:, :, 0]
    array = array.astype(array.dtype.newbyteorder("="), copy=False)
    if orientation not in _ORIENT:
        return array, channels, 1
    return _ORIENT[orientation](array), channels, orientation


UNNAMED_CHANNEL_PAGES = 8
"""A TIFF whose pages lie along one unlabelled axis (tifffile's Q or I: no ImageJ or OME axes recorded) reads up to
this many pages as channels, the common way multichannel images are saved; more pages are a stack."""


def _channel_axis(lead_axes: str, lead_shape: tuple[int, ...]) -> str | None:
    """The leading (page) axis that holds the channels: C, or a lone unlabelled axis of few pages; None for none."""
    if "C" in lead_axes:
        return "C"
    if lead_axes in ("Q", "I") and lead_shape[0] <= UNNAMED_CHANNEL_PAGES:
        return lead_axes
    return None


def _tiff_first_plane(tif: tifffile.TiffFile) -> tuple[np.ndarray, int]:
    """Y x X x C array of the first plane of series 0 (first three channels read) and its channel count."""
    series = tif.series[0]
    page = series.keyframe
    n_lead = len(series.axes) - len(page.axes)
    if n_lead < 0 or tuple(series.shape[n_lead:]) != tuple(page.shape) or not {"Y", "X"} <= set(page.axes):
        raise ImageLoadError(f"unsupported TIFF layout: axes {series.axes}, page axes {page.axes}")
    lead_axes, lead_shape = series.axes[:n_lead], tuple(series.shape[:n_lead])
    channel_axis = _channel_axis(lead_axes, lead_shape)
    n_channels = lead_shape[lead_axes.index(channel_axis)] if channel_axis else 1
    # page index of channel c at the first position of every other leading axis (T, Z, ...)
    keys = [int(np.ravel_multi_index([c if a == channel_axis else 0 for a in lead_axes], lead_shape))
            if lead_axes else 0 for c in range(min(n_channels, 3))]
    array = tif.asarray(key=keys, series=0)
    axes = ("C" if len(keys) > 1 else "") + page.axes
    order = [axes.index("Y"), axes.index("X")] + [i for i, a in enumerate(axes) if a not in "YX"]
    array = array.transpose(order)
    per_page = int(np.prod(array.shape[2:], dtype=np.int64)) // len(keys)
    return array.reshape(array.shape[0], array.shape[1], -1), n_channels * per_page


def _read_tiff(path: Path, limit: int) -> tuple[np.ndarray, int, int]:
    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ImageLoadError(f"{path}: the TIFF holds no image")
        series = tif.series[0]
        if "Y" not in series.axes or "X" not in series.axes:
            raise ImageLoadError(f"{path}: the TIFF image has axes {series.axes}, without Y and X")
        height, width = series.shape[series.axes.index("Y")], series.shape[series.axes.index("X")]
        _check_size(path, width, height, limit)
        array, channels = _tiff_first_plane(tif)
        if array.shape[2] == 2 and channels == 2 and series.keyframe.extrasamples:
            array = array[:, :, :1]  # grey + alpha: the alpha is not shown
    return array, channels, 1


def load_image(path: str | Path, max_pixels: int | None = None) -> ImageData:
    """Load an image file as ImageData; raises ImageLoadError naming the file and the problem.

    max_pixels: refuse images whose width x height exceeds it (default: `max_image_pixels()`),
    checked from the file header before any pixel is decoded. For TIFF stacks and hyperstacks
    the first plane is loaded (all its channels counted, the first three read).
    """
    path = Path(path)
    limit = max_image_pixels() if max_pixels is None else max_pixels
    if not path.is_file():
        raise ImageLoadError(f"{path}: no such image file")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{path}: the file is empty")
    with open(path, "rb") as f:
        head = f.read(32)
    try:
        if is_tiff(head):
            array, channels, orientation = _read_tiff(path, limit)
        else:
            array, channels, orientation = _read_pillow(path, head, limit)
        return _image(array, path, channels, orientation)
    except ImageLoadError as exc:
        if str(path) in str(exc):
            raise
        raise ImageLoadError(f"{path}: {exc}") from exc
    except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, struct.error... on bad files
        reason = str(exc).strip().splitlines()
        raise ImageLoadError(f"{path}: cannot read the image ({type(exc).__name__}: "
                             f"{reason[0] if reason else 'no detail'})") from exc
