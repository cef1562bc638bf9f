"""MaskCrop: a mask as a crop and its origin in the image; what it shows, how it grows, and its RLE, which is the
store's own encoding of the same mask at the image's size."""
import numpy as np

from app.store.masks import mask_to_rle, rle_bbox
from app.tiles.mask_crop import MaskCrop

SIZE = (60, 80)


def _crop():
    pixels = np.zeros((10, 20), bool)
    pixels[2:5, 3:9] = True
    return MaskCrop(pixels, (30, 40), SIZE)


def test_a_crop_is_the_dense_mask_it_stands_for():
    crop = _crop()
    dense = crop.dense()
    assert dense.shape == SIZE and dense.sum() == 18 and dense[42:45, 33:39].all()
    assert crop.box == (30, 40, 50, 50) and crop.bounds() == (33, 42, 39, 45)
    assert crop.rle() == mask_to_rle(dense) and rle_bbox(crop.rle()) == (33, 42, 6, 3)
    trimmed = crop.trimmed()
    assert trimmed.origin == (33, 42) and trimmed.pixels.shape == (3, 6) and trimmed.pixels.all()
    assert np.array_equal(crop.region((25, 35, 60, 55)), dense[35:55, 25:60])          # unset outside the crop
    assert np.shares_memory(crop.region((31, 41, 40, 45)), crop.pixels)                 # inside: a view
    assert np.array_equal(MaskCrop.from_rle(crop.rle(), (33, 42, 6, 3)).dense(), dense)
    assert not MaskCrop.empty(SIZE).any() and MaskCrop.empty(SIZE).trimmed().bounds() is None
    assert MaskCrop.whole(dense).rle() == mask_to_rle(dense) and MaskCrop.whole(dense).pixels is dense


def test_covering_grows_a_copy_within_the_image():
    crop = _crop()
    grown = crop.covering((70, 0, 100, 45))                                              # past the right edge
    assert grown.box == (30, 0, 80, 50) and not np.shares_memory(grown.pixels, crop.pixels)
    assert np.array_equal(grown.dense(), crop.dense())
    assert MaskCrop.empty(SIZE).covering((5, 6, 9, 8)).box == (5, 6, 9, 8)
    assert MaskCrop.empty(SIZE).covering(None).pixels.size == 0
