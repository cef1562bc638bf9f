"""Foreign RLE is checked before pycocotools sees it; the parser matches pycocotools' own encoding."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from app.coco.rle import checked_rle, counts_from_string

masks = st.tuples(st.integers(1, 50), st.integers(1, 50)).flatmap(lambda hw: arrays(np.bool_, hw))


def runs_of(mask: np.ndarray) -> list[int]:
    """Run lengths of the column-major mask, starting with a run of zeros (COCO's convention)."""
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
    return ([0] + runs) if flat[0] else runs


@settings(max_examples=300, deadline=None)
@given(masks)
@pytest.mark.slow
def test_parser_reads_what_pycocotools_writes(mask):
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert counts_from_string(encoded["counts"].decode()).tolist() == runs_of(mask)


@settings(max_examples=100, deadline=None)
@given(masks)
@pytest.mark.slow
def test_uncompressed_counts_become_pycocotools_compressed(mask):
    h, w = mask.shape
    rle = checked_rle({"size": [h, w], "counts": runs_of(mask)}, h, w)
    assert np.array_equal(mask_utils.decode(rle).astype(bool), mask)


def test_long_runs_round_trip():
    mask = np.zeros((3000, 3000), bool)
    mask[-1, -1] = True
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()
    assert counts_from_string(encoded).tolist() == [3000 * 3000 - 1, 1]


@pytest.mark.parametrize("counts, message", [
    ("0", "cover 0 pixels"),            # parses, but the runs do not fill the mask
    ("zzzz", "outside '0'..'o'"),
    ("P", "ends in the middle"),
    ("é", "non-ASCII"),
    ([5, 200], "cover 205 pixels"),
    ([50, -3, 53], "negative"),
    ([50.5, 49.5], "whole numbers"),
    (12, "string or a list"),
])
def test_broken_rle_is_refused_with_a_reason(counts, message):
    with pytest.raises(ValueError, match=message):
        checked_rle({"size": [10, 10], "counts": counts}, 10, 10)


def test_wrong_size_is_refused():
    encoded = mask_utils.encode(np.asfortranarray(np.ones((10, 12), np.uint8)))
    with pytest.raises(ValueError, match="the mask is 12x10 .* the image is 10x10"):
        checked_rle({"size": [10, 12], "counts": encoded["counts"].decode()}, 10, 10)
