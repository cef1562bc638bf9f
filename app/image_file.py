"""What the project knows about an image file before decoding it: its type, its orientation and the pixel limit.

The one place below both the image loader (app.sam.images) and the project store (app.store.image_files), so
that a file the folder scan accepts can be loaded and one the loader refuses is not registered. Pillow's own
decompression-bomb check (a lower, fixed limit) is switched off while a file is opened: the pixel limit,
checked from the header, stands in for it.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
"""First four bytes of a TIFF: classic and BigTIFF, both byte orders."""

EXIF_ORIENTATION = 0x0112
"""The EXIF tag that says how the picture is turned (1 = upright, 2-8 mirrored and/or turned)."""

TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
"""EXIF orientations that turn the picture by 90 degrees: width and height swap when it is shown."""

MAX_IMAGE_PIXELS = 16384 * 16384
"""Largest image (width x height) loaded whole: 268 MP. Override with $MOPEFT_MAX_IMAGE_PIXELS or max_pixels."""

MAX_PIXELS_ENV = "MOPEFT_MAX_IMAGE_PIXELS"

LARGE_SIDE = 2048
"""An image whose long side is above this is large: the canvas shows it tile by tile, and a TIFF that can be read
region by region (`tiff_region_problem` None) is, never decoded whole, so the pixel limit does not apply to it."""

_PIL_LIMIT_LOCK = threading.Lock()


def is_image_file(name: str) -> bool:
    """True when the file name has one of the supported image suffixes (case-insensitive)."""
    return name.lower().endswith(IMAGE_SUFFIXES)


def is_tiff(head: bytes) -> bool:
    """True when the file's first bytes (`head`, at least 4) are a TIFF's: such files are read with tifffile."""
    return head[:4] in TIFF_MAGIC


def exif_orientation(im) -> int:
    """The EXIF orientation of an opened Pillow image (1 when it records none)."""
    return im.getexif().get(EXIF_ORIENTATION, 1)


def max_image_pixels() -> int:
    """The pixel limit in force: $MOPEFT_MAX_IMAGE_PIXELS if set, else MAX_IMAGE_PIXELS."""
    value = os.environ.get(MAX_PIXELS_ENV)
    if not value:
        return MAX_IMAGE_PIXELS
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{MAX_PIXELS_ENV}={value!r} is not a whole number of pixels") from None


def too_many_pixels(width: int, height: int, limit: int) -> str | None:
    """Why an image of this size is refused (to follow its file name), or None when it is within `limit`."""
    if width * height <= limit:
        return None
    return (f"{width} x {height} pixels ({width * height / 1e6:.0f} MP) is above the limit of "
            f"{limit / 1e6:.0f} MP; tile the image into smaller files (e.g. 4096 x 4096 pieces), or raise "
            f"the limit with {MAX_PIXELS_ENV} if this machine has the memory")


def is_large(width: int, height: int) -> bool:
    """True when an image of this size is large (LARGE_SIDE)."""
    return max(width, height) > LARGE_SIDE


def tiff_region_problem(series) -> str | None:
    """Why the image of a tifffile series cannot be read region by region (app.tiles.tiff_source), or None when
    it can: one plane of 8-bit grey, RGB or RGBA, its samples stored together."""
    page = series.levels[0].keyframe
    if tuple(series.levels[0].shape) != tuple(page.shape):
        return f"a stack of {len(series.levels[0].pages)} planes (axes {series.axes}), not one image"
    if page.dtype != "uint8" or page.samplesperpixel not in (1, 3, 4) or page.planarconfig == 2:
        return (f"{page.samplesperpixel} sample(s) of {page.dtype}"
                f"{', stored plane by plane' if page.planarconfig == 2 else ''}, not 8-bit grey, RGB or RGBA")
    return None


@contextmanager
def pillow_open(path: Path) -> Iterator:
    """`PIL.Image.open(path)` without Pillow's decompression-bomb check; check `too_many_pixels` yourself."""
    from PIL import Image

    with _PIL_LIMIT_LOCK:
        pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            im = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit
    with im:
        yield im
