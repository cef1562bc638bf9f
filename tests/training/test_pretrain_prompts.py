"""Prompt simulation: first clicks inside the object, correction clicks in the error region, noisy boxes."""
import pytest
import numpy as np
import torch

from app.synth import make_scene
from app.training.prompts import correction_clicks, jittered_boxes, mask_boxes, sample_points


def _masks():
    scene = make_scene("shapes", 11, 0)
    return torch.from_numpy(np.stack(scene.masks))


def _at(masks, points):
    return masks[torch.arange(len(points)), points[:, 1].long(), points[:, 0].long()]


def test_first_clicks_lie_inside_their_object():
    masks = _masks()
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        assert _at(masks, sample_points(masks, g)).all()


def test_first_clicks_spread_over_the_object():
    mask = torch.zeros(1, 50, 50, dtype=torch.bool)
    mask[0, 10:20, 30:40] = True
    g = torch.Generator().manual_seed(0)
    points = torch.cat([sample_points(mask, g) for _ in range(400)])
    assert points[:, 0].min() == 30 and points[:, 0].max() == 39
    assert points[:, 1].min() == 10 and points[:, 1].max() == 19
    assert abs(points[:, 0].mean().item() - 34.5) < 0.6


def test_correction_clicks_fall_in_the_error_with_the_right_label():
    target = torch.zeros(3, 40, 40, dtype=torch.bool)
    target[:, 10:30, 10:30] = True
    predicted = torch.zeros_like(target)
    predicted[0] = target[0]
    predicted[0, 10:30, 10:15] = False  # missed foreground only -> positive clicks there
    predicted[1] = target[1]
    predicted[1, 0:5, 0:40] = True  # false positive only -> negative clicks there
    predicted[2] = target[2]  # exact -> a positive click inside the target
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        points, labels = correction_clicks(predicted, target, g)
        x, y = points[:, 0].long(), points[:, 1].long()
        assert labels.tolist() == [1, 0, 1]
        assert 10 <= x[0] < 15 and 10 <= y[0] < 30
        assert y[1] < 5
        assert target[2, y[2], x[2]]


@pytest.mark.slow
def test_correction_clicks_on_mixed_errors_match_the_truth_there():
    masks = _masks()
    shifted = torch.roll(masks, shifts=(6, -4), dims=(1, 2))
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        points, labels = correction_clicks(shifted, masks, g)
        assert (_at(shifted ^ masks, points)).all()
        assert (labels.bool() == _at(masks, points)).all()


@pytest.mark.slow
def test_jittered_boxes_stay_near_the_tight_box_and_in_order():
    masks = _masks()
    tight = mask_boxes(masks)
    g = torch.Generator().manual_seed(2)
    boxes = torch.stack([jittered_boxes(masks, g) for _ in range(50)])
    assert (boxes[..., 0] <= boxes[..., 2]).all() and (boxes[..., 1] <= boxes[..., 3]).all()
    assert boxes.min() >= 0 and boxes.max() <= 255
    assert (boxes - tight).abs().max() <= 20
    assert (boxes - tight).abs().mean() > 0.5
    ys, xs = torch.nonzero(masks[0], as_tuple=True)
    assert tight[0].tolist() == [xs.min().item(), ys.min().item(), xs.max().item(), ys.max().item()]
