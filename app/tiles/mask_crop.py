"""A mask as a crop of the image it lies on: bool pixels, where their top-left lies in the image, and the image's
size. A draft or a candidate on a 20,000 x 20,000 image costs its crop, not 400 MB; a small image's masks are the
same value with the whole image as their crop."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.store.masks import mask_bounds, mask_to_rle
from app.tiles.rle import crop_to_rle, rle_crop


@dataclass(frozen=True, eq=False)
class MaskCrop:
    """`pixels` (h, w) bool whose top-left is image pixel `origin` (x, y), on an image of `size` (height, width);
    every pixel outside the crop is unset. Treat it as immutable: edits (`covering`) return a new one."""

    pixels: np.ndarray
    origin: tuple[int, int]
    size: tuple[int, int]

    @classmethod
    def empty(cls, size: tuple[int, int]) -> "MaskCrop":
        """No pixel set on an image of `size`."""
        return cls(np.zeros((0, 0), bool), (0, 0), size)

    @classmethod
    def whole(cls, mask: np.ndarray) -> "MaskCrop":
        """A mask of the whole image (H x W bool, not copied) as its own crop."""
        return cls(mask, (0, 0), mask.shape)

    @classmethod
    def from_rle(cls, rle: dict, bbox: tuple[int, int, int, int]) -> "MaskCrop":
        """A full-resolution RLE decoded over its bounding box (x, y, w, h) only."""
        x, y, w, h = bbox
        return cls(rle_crop(rle, (x, y, x + w, y + h)), (x, y), tuple(rle["size"]))

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The crop's region (x0, y0, x1, y1), end exclusive, in image pixels."""
        (x, y), (h, w) = self.origin, self.pixels.shape
        return x, y, x + w, y + h

    @property
    def nbytes(self) -> int:
        """Bytes the crop's pixels take."""
        return self.pixels.nbytes

    def any(self) -> bool:
        """True when some pixel is set."""
        return bool(self.pixels.any())

    def bounds(self) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1), end exclusive, of the set pixels in image pixels; None when none is set."""
        found = mask_bounds(self.pixels) if self.pixels.size else None
        if found is None:
            return None
        x, y = self.origin
        return found[0] + x, found[1] + y, found[2] + x, found[3] + y

    def trimmed(self) -> "MaskCrop":
        """The same mask cropped to its set pixels (an empty crop when none is set); shares their memory."""
        found = self.bounds()
        if found is None:
            return MaskCrop.empty(self.size)
        return MaskCrop(self.region(found), found[:2], self.size)

    def region(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """The mask's pixels inside box (x0, y0, x1, y1) of the image, end exclusive (unset outside the crop); a
        view of the crop when the box lies inside it."""
        x0, y0, x1, y1 = box
        cx0, cy0, cx1, cy1 = self.box
        if cx0 <= x0 and cy0 <= y0 and x1 <= cx1 and y1 <= cy1:
            return self.pixels[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
        out = np.zeros((y1 - y0, x1 - x0), bool)
        ix0, iy0, ix1, iy1 = max(x0, cx0), max(y0, cy0), min(x1, cx1), min(y1, cy1)
        if ix0 < ix1 and iy0 < iy1:
            out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = self.pixels[iy0 - cy0:iy1 - cy0, ix0 - cx0:ix1 - cx0]
        return out

    def covering(self, box: tuple[int, int, int, int] | None) -> "MaskCrop":
        """A copy whose crop also covers `box` (x0, y0, x1, y1; clipped to the image; None: no more), to paint on."""
        height, width = self.size
        x0, y0, x1, y1 = self.box if self.pixels.size else (width, height, 0, 0)
        if box is not None:
            x0, y0 = max(0, min(x0, box[0])), max(0, min(y0, box[1]))
            x1, y1 = min(width, max(x1, box[2])), min(height, max(y1, box[3]))
        if x0 >= x1 or y0 >= y1:
            return MaskCrop.empty(self.size)
        return MaskCrop(np.array(self.region((x0, y0, x1, y1)), dtype=bool, copy=True), (x0, y0), self.size)

    def dense(self) -> np.ndarray:
        """The mask at the whole image's size, H x W bool (for small images and tests: 400 MB at 20,000²)."""
        out = np.zeros(self.size, bool)
        x0, y0, x1, y1 = self.box
        out[y0:y1, x0:x1] = self.pixels
        return out

    def rle(self) -> dict:
        """The mask as compressed COCO RLE at full resolution, from the crop (no dense array of the image)."""
        if self.origin == (0, 0) and self.pixels.shape == tuple(self.size):
            return mask_to_rle(self.pixels)
        return crop_to_rle(self.pixels, self.origin, self.size)
