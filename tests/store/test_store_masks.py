"""The store's mask codec agrees with pycocotools: round trip, area and bounding box."""
import pytest
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from app.store.masks import mask_to_rle, rle_area, rle_bbox, rle_to_mask

masks = st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(
    lambda hw: arrays(np.bool_, hw))


@settings(max_examples=200, deadline=None)
@given(masks)
@pytest.mark.slow
def test_round_trip_and_pycocotools_agree(mask):
    rle = mask_to_rle(mask)
    assert isinstance(rle["counts"], str)
    assert np.array_equal(rle_to_mask(rle), mask)
    reference = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle["counts"].encode() == reference["counts"]
    assert rle_area(rle) == int(mask.sum())
    if mask.any():
        ys, xs = np.nonzero(mask)
        assert rle_bbox(rle) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert list(rle_bbox(rle)) == [int(v) for v in mask_utils.toBbox(reference)]
