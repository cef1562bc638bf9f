"""Full-resolution COCO RLE from a mask's crop and back, without a dense array of the whole image.

A mask on a 20,000 x 20,000 image as a dense bool array is 400 MB; its RLE is a few kB. pycocotools encodes only
whole arrays, so the runs are computed here from the crop (column-major, as COCO counts them) and compressed by
pycocotools.
"""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def crop_to_rle(crop: np.ndarray, origin: tuple[int, int], size: tuple[int, int]) -> dict:
    """The compressed RLE ({'size': [h, w], 'counts': str}) of an image of `size` (height, width) that is empty
    but for the bool `crop`, whose top-left pixel is `origin` (x, y); the crop must lie inside the image."""
    height, width = size
    x0, y0 = origin
    h, w = crop.shape
    if x0 < 0 or y0 < 0 or x0 + w > width or y0 + h > height:
        raise ValueError(f"a {w} x {h} crop at ({x0}, {y0}) does not fit in a {width} x {height} image")
    padded = np.pad(np.asarray(crop, bool), ((1, 1), (0, 0)))
    changes = padded[1:] != padded[:-1]                       # (h + 1, w): the value changes before row i
    columns, rows = np.nonzero(changes.T)                     # column-major order, as COCO runs go
    positions = (x0 + columns).astype(np.int64) * height + y0 + rows
    counts = np.diff(np.concatenate([[0], positions, [height * width]]))
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts.tolist()}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


WHOLE_DECODE_PIXELS = 4096 * 4096
"""Up to this many pixels an RLE is decoded whole by pycocotools (C, faster than reading its runs here)."""


def rle_crop(rle: dict, box: tuple[int, int, int, int]) -> np.ndarray:
    """The bool pixels of a full-resolution RLE inside box (x0, y0, x1, y1), end exclusive, C-contiguous; of a
    large image, decoding no more of it than the box's columns."""
    x0, y0, x1, y1 = box
    height, width = rle["size"]
    if height * width <= WHOLE_DECODE_PIXELS:
        return np.ascontiguousarray(mask_utils.decode(rle)[y0:y1, x0:x1]).view(np.bool_)
    counts = _counts(rle)
    ends = np.cumsum(counts)
    starts = ends - counts
    on = np.arange(len(counts)) % 2 == 1                      # runs alternate: background first
    first, last = x0 * height, x1 * height                    # the box's columns, column-major
    keep = on & (ends > first) & (starts < last)
    out = np.zeros((x1 - x0) * height, bool)
    for s, e in zip(starts[keep], ends[keep]):
        out[max(s, first) - first:min(e, last) - first] = True
    return out.reshape(x1 - x0, height).T[y0:y1].copy()


def _counts(rle: dict) -> np.ndarray:
    """The uncompressed run lengths of a compressed COCO RLE (pycocotools' string format, LEB128-like)."""
    text = rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"]
    counts, i = [], 0
    while i < len(text):
        value, shift, more = 0, 0, True
        while more:
            c = text[i] - 48
            value |= (c & 0x1F) << (5 * shift)
            more = bool(c & 0x20)
            i, shift = i + 1, shift + 1
            if not more and c & 0x10:
                value |= -1 << (5 * shift)
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return np.asarray(counts, dtype=np.int64)
