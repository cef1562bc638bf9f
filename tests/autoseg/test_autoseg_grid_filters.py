"""The grid, crop boxes and per-mask filters against segment_anything's own helpers (utils/amg.py)."""
import numpy as np
import pytest
import torch
from segment_anything.utils import amg

from app.autoseg.filters import mask_box, near_crop_edge, remove_small_regions, stability_score
from app.autoseg.grid import crop_boxes, point_grid
from app.autoseg.params import AutoParams


@pytest.mark.parametrize("n", [1, 7, 32])
def test_point_grid_is_sams(n):
    np.testing.assert_array_equal(point_grid(n), amg.build_point_grid(n))


@pytest.mark.parametrize("size, layers, ratio",
                         [((256, 256), 1, 512 / 1500), ((480, 640), 2, 0.25), ((97, 61), 3, 0.5)])
def test_crop_boxes_are_sams(size, layers, ratio):
    boxes, layer_index = amg.generate_crop_boxes(size, layers, ratio)
    ours = crop_boxes(size, AutoParams(crop_n_layers=layers, crop_overlap_ratio=ratio))
    assert ours == [(tuple(b), i) for b, i in zip(boxes, layer_index)]


def _blobs(seed: int, shape=(60, 80)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random(shape) < 0.5 if seed % 3 == 0 else np.kron(rng.random((12, 16)) < 0.4, np.ones((5, 5), bool))


@pytest.mark.parametrize("seed", range(6))
def test_stability_box_and_small_regions_are_sams(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (60, 80)).astype(np.float32)
    ref = amg.calculate_stability_score(torch.from_numpy(logits)[None], 0.0, 1.0)[0]
    assert stability_score(logits, 0.0, 1.0) == ref.item()
    mask = _blobs(seed)
    assert mask_box(mask) == tuple(amg.batched_mask_to_box(torch.from_numpy(mask)).tolist())
    for area in (3, 30, 400):
        expected, changed = amg.remove_small_regions(mask, area, "holes")
        expected, changed_too = amg.remove_small_regions(expected, area, "islands")
        ours, ours_changed = remove_small_regions(mask, area)
        np.testing.assert_array_equal(ours, expected)
        assert ours_changed == (changed or changed_too)


def test_empty_masks_box_to_zeros_and_score_nan():
    assert mask_box(np.zeros((5, 5), bool)) == (0, 0, 0, 0)
    assert np.isnan(stability_score(np.full((5, 5), -9, np.float32), 0.0, 1.0))


def test_near_crop_edge_is_sams():
    crop, size = (100, 50, 300, 250), (400, 300)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x0, y0 = rng.integers(0, 200, 2)
        box = (int(x0), int(y0), int(x0 + rng.integers(0, 200 - x0 + 1)), int(y0 + rng.integers(0, 200 - y0 + 1)))
        ref = amg.is_box_near_crop_edge(torch.tensor([box]), list(crop), [0, 0, size[1], size[0]])
        assert near_crop_edge(box, crop, size) == bool(ref[0])
