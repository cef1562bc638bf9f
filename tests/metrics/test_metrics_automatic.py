"""Automatic-segmentation scores on hand-made cases: perfect, empty, half right, one-to-one matching."""
import numpy as np
import pytest

from app.metrics.automatic import ImageMasks, coco_mask_ap, mean_segmentation_accuracy, segmentation_accuracy
from app.store.masks import mask_to_rle


def squares(*corners, side=8, shape=(32, 32)):
    out = []
    for top, left in corners:
        mask = np.zeros(shape, dtype=bool)
        mask[top:top + side, left:left + side] = True
        out.append(mask_to_rle(mask))
    return out


TRUTH = squares((0, 0), (0, 16), (16, 0), (16, 16))


def test_perfect_masks_score_one_and_none_score_zero():
    perfect = [ImageMasks(TRUTH, TRUTH, [0.9, 0.8, 0.7, 0.6])]
    assert coco_mask_ap(perfect) == pytest.approx((1.0, 1.0))
    assert mean_segmentation_accuracy(perfect) == 1.0
    nothing = [ImageMasks(TRUTH, [], [])]
    assert coco_mask_ap(nothing) == (0.0, 0.0)
    assert mean_segmentation_accuracy(nothing) == 0.0


def test_half_found_plus_a_false_one():
    predicted = TRUTH[:2] + squares((24, 8))      # two right, one where nothing is
    image = ImageMasks(TRUTH, predicted, [0.9, 0.8, 0.7])
    assert mean_segmentation_accuracy([image]) == pytest.approx(2 / 5)    # TP 2, FP 1, FN 2 at every threshold
    ap, ap50 = coco_mask_ap([image])
    assert 0.4 < ap == ap50 < 0.6


def test_a_prediction_matches_one_truth_mask_at_most():
    iou = np.array([[0.9, 0.6], [0.0, 0.0]])      # prediction 0 fits both; prediction 1 fits neither
    assert segmentation_accuracy(iou, 0.5) == pytest.approx(1 / 3)     # TP 1, FP 1, FN 1
    assert segmentation_accuracy(np.zeros((0, 0)), 0.5) == 1.0
