"""Full-resolution RLE from a crop equals pycocotools' encoding of the whole mask; a box decoded from it equals the
whole mask's pixels there."""
import numpy as np
import pytest

from app.store.masks import mask_to_rle, rle_to_mask
from app.tiles import crop_to_rle, rle_crop
from app.tiles import rle as rle_module


@pytest.mark.parametrize("seed", range(6))
def test_crop_to_rle_and_back_against_pycocotools(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(20, 90, 2)
    h, w = rng.integers(1, height), rng.integers(1, width)
    x0, y0 = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
    crop = rng.random((h, w)) < rng.choice([0.1, 0.5, 0.95])
    if seed == 0:
        crop[:] = True          # runs that touch the crop's top and bottom
    full = np.zeros((height, width), bool)
    full[y0:y0 + h, x0:x0 + w] = crop
    rle = crop_to_rle(crop, (x0, y0), (height, width))
    assert rle == mask_to_rle(full)
    np.testing.assert_array_equal(rle_to_mask(rle), full)
    bx0, by0 = rng.integers(0, width - 1), rng.integers(0, height - 1)
    box = (bx0, by0, rng.integers(bx0 + 1, width + 1), rng.integers(by0 + 1, height + 1))
    np.testing.assert_array_equal(rle_crop(rle, box), full[box[1]:box[3], box[0]:box[2]])
    monkeypatch.setattr(rle_module, "WHOLE_DECODE_PIXELS", 0)     # its runs read here, as of a large image
    np.testing.assert_array_equal(rle_crop(rle, box), full[box[1]:box[3], box[0]:box[2]])


def test_a_large_image_needs_no_dense_array():
    crop = np.ones((300, 200), bool)
    rle = crop_to_rle(crop, (19_000, 12_000), (20_000, 20_000))   # 400 MB as a dense bool image
    assert len(rle["counts"]) < 2000
    np.testing.assert_array_equal(rle_crop(rle, (18_990, 11_990, 19_210, 12_310))[10:310, 10:210], crop)


def test_a_crop_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        crop_to_rle(np.ones((5, 5), bool), (98, 0), (100, 100))
