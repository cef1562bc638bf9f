"""Turn any image array into the H x W x 3 uint8 RGB that is shown and embedded.

Rules (docs/images.md): 8-bit data passes unchanged; every other dtype gets one percentile contrast
stretch over the shown channels; 1 channel is grey, 2 channels show as red and green, more than 3
show the first three. Height and width never change.
"""
from __future__ import annotations

import numpy as np

STRETCH_PERCENTILES: tuple[float, float] = (0.5, 99.5)
"""Source values at these percentiles become 0 and 255 in the display image."""

_SAMPLE_PIXELS = 4_000_000  # percentiles are estimated on a regular grid of about this many pixels
_BLOCK_VALUES = 4_000_000  # values converted per block, to bound temporary memory on huge images


def shown_channels(array: np.ndarray) -> np.ndarray:
    """The H x W x k (k = 1, 2 or 3) channels that will be shown: a view of `array`, no copy.

    Raises ValueError for arrays that are not H x W or H x W x C, or that are empty.
    """
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected an H x W or H x W x C array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"the image is empty (shape {array.shape})")
    return array[:, :, :3]


def stretch_range(values: np.ndarray, percentiles: tuple[float, float] = STRETCH_PERCENTILES) -> tuple[float, float]:
    """(low, high) source values for the contrast stretch, ignoring NaN and infinities.

    When the percentiles coincide (e.g. sparse bright spots on a flat background) the full
    min..max range is used instead; a constant image gives low == high.
    """
    step = max(1, int(np.ceil(np.sqrt(values.shape[0] * values.shape[1] / _SAMPLE_PIXELS))))
    sample = values[::step, ::step]
    floating = np.issubdtype(values.dtype, np.floating)
    finite = sample[np.isfinite(sample)] if floating else sample.ravel()
    if finite.size == 0:
        return 0.0, 0.0
    low, high = (float(v) for v in np.percentile(finite, percentiles))
    if high <= low:
        full = values[np.isfinite(values)] if floating else values
        if full.size == 0:
            return 0.0, 0.0
        low, high = float(full.min()), float(full.max())
    return low, high


def contrast_stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map `low`..`high` linearly to 0..255 as uint8, clipping outside; NaN becomes 0, low == high gives 0."""
    out = np.zeros(values.shape, dtype=np.uint8)
    if high <= low:
        return out
    scale = 255.0 / (high - low)
    rows = max(1, _BLOCK_VALUES // max(1, values[0].size))
    for top in range(0, values.shape[0], rows):
        block = (values[top:top + rows].astype(np.float64) - low) * scale
        np.clip(block, 0.0, 255.0, out=block)
        block[np.isnan(block)] = 0.0
        out[top:top + rows] = np.rint(block)
    return out


def to_display_rgb(array: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """The display RGB (H x W x 3 uint8) of an image array, and the stretch used (None for 8-bit data)."""
    shown = shown_channels(array)
    stretch = None
    if shown.dtype == np.uint8:
        display = shown
    elif shown.dtype == np.bool_:
        display = shown.astype(np.uint8) * 255
    else:
        stretch = stretch_range(shown)
        display = contrast_stretch(shown, *stretch)
    if display.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(display, 3, axis=2)), stretch
    if display.shape[2] == 2:
        blue = np.zeros(display.shape[:2] + (1,), dtype=np.uint8)
        return np.concatenate([display, blue], axis=2), stretch
    return np.ascontiguousarray(display), stretch
