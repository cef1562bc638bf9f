"""AutoParams: SamAutomaticMaskGenerator's names and defaults, a dict round trip, and clear refusals."""
import inspect

import pytest
from segment_anything import SamAutomaticMaskGenerator

from app.autoseg import AutoParams


def test_defaults_are_sam_automatic_mask_generators():
    reference = inspect.signature(SamAutomaticMaskGenerator.__init__).parameters
    params = AutoParams().to_dict()
    assert params.pop("accepted_overlap") == 0.5
    assert params == {name: reference[name].default for name in params}


def test_dict_round_trip_and_missing_keys_take_defaults():
    params = AutoParams(points_per_side=16, pred_iou_thresh=0.3, crop_n_layers=1, min_mask_region_area=50)
    assert AutoParams.from_dict(params.to_dict()) == params
    assert AutoParams.from_dict({"points_per_side": 8}) == AutoParams(points_per_side=8)


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match="unknown automatic segmentation parameter.*output_mode, point_grids"):
        AutoParams.from_dict({"point_grids": None, "points_per_side": 8, "output_mode": "binary_mask"})


@pytest.mark.parametrize("field, value, message", [
    ("points_per_side", 0, "points_per_side must be a whole number >= 1"),
    ("points_per_batch", 2.5, "points_per_batch must be a whole number >= 1"),
    ("crop_n_layers", True, "crop_n_layers must be a whole number >= 0"),
    ("min_mask_region_area", -1, "min_mask_region_area must be a whole number >= 0"),
    ("pred_iou_thresh", 1.5, "pred_iou_thresh must be between 0 and 1"),
    ("box_nms_thresh", float("nan"), "box_nms_thresh must be a finite number"),
    ("accepted_overlap", -0.1, "accepted_overlap must be between 0 and 1"),
    ("stability_score_offset", -1.0, "stability_score_offset must be >= 0"),
    ("crop_overlap_ratio", 1.0, "crop_overlap_ratio must be >= 0 and < 1"),
    ("stability_score_thresh", "0.9", "stability_score_thresh must be a finite number"),
])
def test_bad_values_are_refused_with_the_field_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        AutoParams(**{field: value})


def test_a_crop_layer_without_points_is_refused():
    with pytest.raises(ValueError, match="crop layer 2 would have no points"):
        AutoParams(points_per_side=3, crop_n_layers=2, crop_n_points_downscale_factor=2)
