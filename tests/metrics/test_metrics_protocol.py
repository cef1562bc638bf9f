"""The click protocol with hand-made predictors: IoU per click, NoC, mask choice and mask input."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from app.metrics import EvalImage, InstanceResult, click_ious, clicks_to_reach, evaluate
from app.metrics.clicks import first_click

SIDE = 8  # low-res logits side of the fake predictors


def rect(shape, top, left, height, width):
    mask = np.zeros(shape, bool)
    mask[top:top + height, left:left + width] = True
    return mask


class FakePredictor:
    """Records every call; `answer(points, labels, call)` gives the masks (N, H, W) to return, and the mask
    numbered `best` (the last one when there are fewer) gets the highest score. Call k (from 1) returns
    low-res logits filled with k + the mask's index."""

    def __init__(self, answer, best=0):
        self.answer, self.best = answer, best
        self.calls = []
        self.images = []

    def set_image(self, image):
        self.images.append(image)

    def predict(self, *, points, labels, mask_input, multimask):
        masks = np.asarray(self.answer(points, labels, len(self.calls)), bool)
        self.calls.append(SimpleNamespace(points=points.copy(), labels=labels.copy(), mask_input=mask_input,
                                          multimask=multimask))
        n = len(masks)
        logits = np.full((n, SIDE, SIDE), float(len(self.calls)), np.float32) + np.arange(n)[:, None, None]
        scores = np.full(n, 0.5)
        scores[min(self.best, n - 1)] = 0.9
        return SimpleNamespace(masks=masks, scores=scores, low_res_logits=logits)


def perfect(gt):
    return FakePredictor(lambda points, labels, call: [gt])


class ClickedParts(FakePredictor):
    """Segments the bright parts of the image: returns the union of those that hold a positive click."""

    def __init__(self):
        super().__init__(self._union)

    def set_image(self, image):
        super().set_image(image)
        self.parts = cv2.connectedComponents((image[..., 0] > 127).astype(np.uint8), connectivity=8)[1]

    def _union(self, points, labels, call):
        hit = {self.parts[int(y), int(x)] for (x, y), label in zip(points, labels) if label == 1} - {0}
        return [np.isin(self.parts, list(hit))]


def image_of(*masks):
    """RGB image in which the given masks are bright."""
    return np.repeat(np.any(masks, axis=0)[..., None] * np.uint8(255), 3, axis=2)


def parts(count):
    """An object of `count` equal squares in a row (each a third or less of the whole)."""
    gt = np.zeros((40, 40 * count), bool)
    for k in range(count):
        gt[10:30, 40 * k + 10:40 * k + 30] = True
    return gt


def test_perfect_predictor_needs_one_click():
    gt = rect((50, 60), 10, 12, 25, 30)
    ious = click_ious(perfect(gt), gt, max_clicks=20)
    result = InstanceResult("a.png", 1, tuple(ious))
    assert ious == [1.0] * 20
    assert (result.iou_1click, result.noc85, result.noc90) == (1.0, 1, 1)


def test_predictor_that_never_finds_the_object_uses_every_click():
    gt = rect((50, 60), 10, 12, 25, 30)
    never = FakePredictor(lambda points, labels, call: [np.zeros_like(gt)])
    ious = click_ious(never, gt, max_clicks=20)
    result = InstanceResult("a.png", 1, tuple(ious))
    assert ious == [0.0] * 20 and len(never.calls) == 20
    assert (result.noc85, result.noc90) == (20, 20)
    assert all(labels.tolist() == [1] * len(labels) for labels in (c.labels for c in never.calls))


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_union_of_clicked_parts_needs_one_click_per_part(count):
    gt = parts(count)
    predictor = ClickedParts()
    predictor.set_image(image_of(gt))
    ious = click_ious(predictor, gt, max_clicks=20)
    result = InstanceResult("a.png", 1, tuple(ious))
    assert ious[:count] == pytest.approx([(k + 1) / count for k in range(count)])
    assert result.noc85 == result.noc90 == count
    assert len(predictor.calls) == count          # no click is left once the mask is exact
    assert predictor.calls[-1].labels.tolist() == [1] * count


def test_false_positive_is_corrected_with_a_negative_click():
    gt = rect((40, 80), 10, 5, 21, 21)
    blob = rect((40, 80), 12, 50, 15, 15)

    def answer(points, labels, call):
        negative_in_blob = any(label == 0 and blob[int(y), int(x)] for (x, y), label in zip(points, labels))
        return [gt if negative_in_blob else gt | blob]
    predictor = FakePredictor(answer)
    ious = click_ious(predictor, gt, max_clicks=5)
    assert ious == [pytest.approx(441 / (441 + 225)), 1.0, 1.0, 1.0, 1.0]
    second = predictor.calls[1]
    assert second.points.tolist() == [[15, 20], [57, 19]] and second.labels.tolist() == [1, 0]


def test_first_round_is_multimask_with_the_best_scored_mask_then_single_mask():
    gt = rect((40, 40), 5, 5, 20, 20)
    wrong = np.zeros_like(gt)
    predictor = FakePredictor(lambda points, labels, call: [wrong, gt, wrong] if call == 0 else [wrong], best=1)
    ious = click_ious(predictor, gt, max_clicks=3)
    assert ious[0] == 1.0
    assert [c.multimask for c in predictor.calls] == [True]
    predictor = FakePredictor(lambda points, labels, call: [gt, gt, wrong] if call == 0 else [gt], best=2)
    ious = click_ious(predictor, gt, max_clicks=3)
    assert ious == [0.0, 1.0, 1.0]
    assert [c.multimask for c in predictor.calls] == [True, False]


def test_mask_input_is_the_previous_low_res_logits_of_the_mask_taken():
    gt = rect((40, 40), 5, 5, 20, 20)
    predictor = FakePredictor(lambda points, labels, call: [np.zeros_like(gt)] * (3 if call == 0 else 1), best=2)
    click_ious(predictor, gt, max_clicks=4)
    calls = predictor.calls
    assert calls[0].mask_input is None
    assert calls[1].mask_input.shape == (1, SIDE, SIDE)
    assert np.all(calls[1].mask_input == 1 + 2)               # call 1's logits, of its best mask (index 2)
    for k in (2, 3):
        assert calls[k].mask_input.shape == (1, SIDE, SIDE) and np.all(calls[k].mask_input == k)
    assert [len(c.points) for c in calls] == [1, 2, 3, 4]
    assert calls[0].points.tolist() == [[first_click(gt).x, first_click(gt).y]]


def test_clicks_to_reach_counts_from_one_and_caps_at_the_maximum():
    ious = [0.5, 0.86, 0.88, 0.91, 0.95]
    assert clicks_to_reach(ious, 0.85) == 2
    assert clicks_to_reach(ious, 0.90) == 4
    assert clicks_to_reach(ious, 0.99) == 5
    assert clicks_to_reach([0.9], 0.90) == 1


def test_evaluate_a_dataset_means_and_progress():
    one = np.pad(parts(1), ((0, 0), (0, 80)))
    three = np.pad(parts(3), ((0, 40), (0, 0)))            # rows 10-30 of a 80 x 120 image
    two = np.pad(parts(2), ((40, 0), (0, 40)))             # rows 50-70, beside nothing of `three`
    images = [EvalImage("one.png", image_of(one), [one], ["a"]),
              EvalImage("many.png", image_of(three, two), [three, two], ["b", "c"])]
    predictor, seen = ClickedParts(), []
    result = evaluate(predictor, images, max_clicks=20, progress=lambda d, t, n: seen.append((d, t, n)))
    assert len(predictor.images) == 2                      # one set_image per image, not per instance
    assert result.count == 3 and not result.cancelled
    assert [r.instance for r in result.instances] == ["a", "b", "c"]
    assert result.miou_1click == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    assert result.noc85 == pytest.approx((1 + 3 + 2) / 3) and result.noc90 == pytest.approx(2.0)
    assert result.failures(0.85) == 0
    assert result.miou_per_click()[:3] == pytest.approx([(1 + 1 / 3 + 1 / 2) / 3, (1 + 2 / 3 + 1) / 3, 1.0])
    assert seen == [(1, 3, "one.png"), (2, 3, "many.png"), (3, 3, "many.png")]
    assert result.summary() == {"miou_1click": pytest.approx(result.miou_1click), "noc85": 2.0, "noc90": 2.0,
                                "instances": 3}


def test_cancel_stops_between_instances_and_keeps_what_was_done():
    gt = parts(2)
    images = [EvalImage(f"{k}.png", image_of(gt), [gt, gt], [2 * k, 2 * k + 1]) for k in range(3)]
    predictor = ClickedParts()
    done = []
    result = evaluate(predictor, images, max_clicks=5, progress=lambda d, t, n: done.append(d),
                      cancel=lambda: len(done) >= 3)
    assert result.cancelled and result.count == 3 and len(predictor.images) == 2
    assert [r.instance for r in result.instances] == [0, 1, 2]
    assert result.noc85 == 2.0


def test_a_predictor_returning_another_size_is_refused():
    gt = rect((40, 40), 5, 5, 20, 20)
    with pytest.raises(ValueError, match="different shapes"):
        click_ious(FakePredictor(lambda points, labels, call: [np.zeros((20, 20), bool)]), gt)
