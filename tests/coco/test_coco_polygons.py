"""Polygons from masks decode back exactly with pycocotools, part by part; holes are reported."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from app.coco.polygons import mask_to_polygons, polygons_to_rle

masks = st.tuples(st.integers(1, 30), st.integers(1, 30)).flatmap(lambda hw: arrays(np.bool_, hw))


def decode(polygons, h, w):
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))).astype(bool)


@settings(max_examples=300, deadline=None)
@given(masks)
@pytest.mark.slow
def test_hole_free_masks_come_back_exactly(mask):
    outline = mask_to_polygons(mask)
    if not mask.any():
        assert outline.polygons == []
        return
    filled = decode(outline.polygons, *mask.shape)
    if outline.has_holes:
        assert (filled & mask).sum() == mask.sum() and filled.sum() > mask.sum()
    else:
        assert np.array_equal(filled, mask)


def test_parts_get_one_polygon_each_and_holes_are_reported():
    mask = np.zeros((20, 30), bool)
    mask[2:8, 2:8] = True
    mask[10:18, 15:29] = True
    mask[12:16, 18:22] = False      # a hole in the second part
    mask[19, 0] = True              # a single pixel on the border
    outline = mask_to_polygons(mask)
    assert len(outline.polygons) == 3
    assert outline.has_holes


@pytest.mark.parametrize("segmentation, message", [
    ([], "non-empty list"),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "list of polygons"),
    ([[1.0, 2.0, 3.0, 4.0]], "at least 6"),
    ([[1.0, 2.0, 3.0, 4.0, 5.0]], "even number"),
    ([[1.0, 2.0, 3.0, float("nan"), 5.0, 6.0]], "finite"),
    ([[1.0, 2.0, "3", 4.0, 5.0, 6.0]], "finite numbers"),
])
def test_malformed_polygons_are_refused(segmentation, message):
    with pytest.raises(ValueError, match=message):
        polygons_to_rle(segmentation, 10, 10)
