"""Checking run-length encodings read from foreign COCO files before pycocotools decodes them.

pycocotools trusts its input: a compressed string whose runs do not add up to height x width decodes into
memory outside the mask. Every RLE read from a file goes through `checked_rle` first.
"""
from __future__ import annotations

import reprlib

import numpy as np
from pycocotools import mask as mask_utils

_MAX_CHARS_PER_COUNT = 7   # 7 x 5 bits hold any 32-bit run length


def counts_from_string(counts: str) -> np.ndarray:
    """The run lengths held in a compressed COCO RLE string (pycocotools' rleFrString, with checks).

    Each number is little-endian base-32 in characters '0'..'o' (48..111): 5 data bits, 0x20 = more follows,
    0x10 in the last character = negative; from the fourth number on, each is a difference from the number
    two places back. Raises ValueError for characters out of range or a number cut short.
    """
    try:
        raw = np.frombuffer(counts.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise ValueError("the RLE counts string holds non-ASCII characters") from None
    if raw.size == 0:
        return raw
    if raw.min() < 0 or raw.max() > 63:
        raise ValueError("the RLE counts string holds characters outside '0'..'o'")
    more = (raw & 0x20) != 0
    if more[-1]:
        raise ValueError("the RLE counts string ends in the middle of a number")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    if (ends - starts).max() >= _MAX_CHARS_PER_COUNT:
        raise ValueError("the RLE counts string holds a number too large for a run length")
    place = np.arange(raw.size) - np.repeat(starts, ends - starts + 1)
    values = np.add.reduceat((raw & 0x1F) << (5 * place), starts)
    negative = (raw[ends] & 0x10) != 0
    values[negative] -= np.int64(1) << (5 * (place[ends][negative] + 1))
    runs = values.copy()
    runs[3::2] = np.cumsum(values[1::2])[1:]
    runs[4::2] = np.cumsum(values[2::2])[1:]
    return runs


def checked_rle(segmentation: dict, height: int, width: int) -> dict:
    """A COCO RLE segmentation (compressed string or uncompressed list of counts) as compressed RLE.

    Raises ValueError saying what is wrong when its size is not [height, width] or its runs do not cover
    exactly height x width pixels.
    """
    size = segmentation.get("size")
    counts = segmentation.get("counts")
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
        raise ValueError(f"the RLE 'size' must be [height, width], not {reprlib.repr(size)}")
    if list(size) != [height, width]:
        raise ValueError(f"the mask is {size[1]}x{size[0]} (RLE size [h, w] = {size}) but the image is "
                         f"{width}x{height}")
    if isinstance(counts, str):
        runs = counts_from_string(counts).tolist()
    elif isinstance(counts, list):
        if not all(_is_int(c) for c in counts):
            raise ValueError("uncompressed RLE counts must be whole numbers")
        runs = counts   # checked as Python ints: numpy's int64 and pycocotools' uint32 overflow on huge ones
    else:
        raise ValueError(f"RLE 'counts' must be a string or a list of numbers, not {type(counts).__name__}")
    if runs and min(runs) < 0:
        raise ValueError("the RLE holds a negative run length")
    if sum(runs) != height * width:
        raise ValueError(f"the RLE runs cover {sum(runs)} pixels but the image has {height}x{width} = "
                         f"{height * width}")
    if isinstance(counts, str):
        return {"size": [height, width], "counts": counts}
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": [int(c) for c in counts]}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
