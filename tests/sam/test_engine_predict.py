"""SamEngine against segment_anything's SamPredictor: same model, same image, same prompts."""
import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from app.sam.engine import SamEngine, full_size_masks
from app.sam.variants import build_sam

POINTS = np.array([[12.0, 20.0], [60.0, 33.0], [30.0, 45.0]])
LABELS = np.array([1, 0, 1])
BOX = np.array([8.0, 6.0, 64.0, 44.0])
PROMPTS = {
    "one point": dict(points=POINTS[:1], labels=LABELS[:1]),
    "points": dict(points=POINTS, labels=LABELS),
    "box": dict(box=BOX),
    "points and box": dict(points=POINTS[:2], labels=LABELS[:2], box=BOX),
}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(1)
    sam = build_sam("tiny")
    # Not square, not the model's 128 px: exercises resize, padding and the crop back.
    image = np.random.default_rng(1).integers(0, 256, (50, 75, 3), dtype=np.uint8)
    reference = SamPredictor(sam)
    reference.set_image(image)
    exact, fast = SamEngine(sam, fast=False), SamEngine(sam)
    exact.set_image(image)
    fast.set_image(image)
    return reference, exact, fast


def reference_predict(reference, points=None, labels=None, box=None, mask_input=None, multimask=True):
    return reference.predict(points, labels, box, mask_input, multimask_output=multimask)


def test_embedding_equals_sampredictor(setup):
    reference, exact, _ = setup
    assert torch.equal(exact.image_embedding, reference.features)


@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.parametrize("name", list(PROMPTS))
def test_exact_path_equals_sampredictor(setup, name, multimask):
    reference, exact, _ = setup
    masks, scores, low = reference_predict(reference, multimask=multimask, **PROMPTS[name])
    got = exact.predict(multimask=multimask, **PROMPTS[name])
    assert got.masks.shape == (3 if multimask else 1, 50, 75) and got.masks.dtype == bool
    np.testing.assert_array_equal(got.masks, masks)
    np.testing.assert_array_equal(got.scores, scores)
    np.testing.assert_array_equal(got.low_res_logits, low)


@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.parametrize("name", list(PROMPTS))
def test_fast_path_matches_sampredictor(setup, name, multimask):
    reference, _, fast = setup
    masks, scores, low = reference_predict(reference, multimask=multimask, **PROMPTS[name])
    got = fast.predict(multimask=multimask, **PROMPTS[name])
    np.testing.assert_allclose(got.low_res_logits, low, atol=1e-4)
    np.testing.assert_allclose(got.scores, scores, atol=1e-5)
    for a, b in zip(got.masks, masks):
        assert iou(a, b) >= 0.99


@pytest.mark.parametrize("engine_index", [1, 2])
def test_mask_input_feedback_loop(setup, engine_index):
    """Two refinement rounds, each feeding the best low-res logits back with one more click."""
    reference, engine = setup[0], setup[engine_index]
    ours = engine.predict(points=POINTS[:1], labels=LABELS[:1])
    theirs = reference_predict(reference, POINTS[:1], LABELS[:1])
    for n in (2, 3):
        ours = engine.predict(points=POINTS[:n], labels=LABELS[:n], mask_input=ours.low_res_logits[ours.best],
                              multimask=False)
        best = int(np.argmax(theirs[1]))
        theirs = reference_predict(reference, POINTS[:n], LABELS[:n], mask_input=theirs[2][best:best + 1],
                                   multimask=False)
        np.testing.assert_allclose(ours.low_res_logits, theirs[2], atol=1e-4)
        assert iou(ours.masks[0], theirs[0][0]) >= 0.99
    if engine_index == 1:
        np.testing.assert_array_equal(ours.masks, theirs[0])


@pytest.mark.slow
def test_demo_arch_fast_path_on_a_wide_image():
    torch.manual_seed(2)
    sam = build_sam("demo")
    image = np.random.default_rng(2).integers(0, 256, (90, 300, 3), dtype=np.uint8)
    reference = SamPredictor(sam)
    reference.set_image(image)
    engine = SamEngine(sam)
    engine.set_image(image)
    pts, lbl = np.array([[40.0, 30.0], [250.0, 70.0]]), np.array([1, 1])
    masks, _, low = reference.predict(pts, lbl, BOX)
    got = engine.predict(points=pts, labels=lbl, box=BOX)
    np.testing.assert_allclose(got.low_res_logits, low, atol=1e-4)
    assert all(iou(a, b) >= 0.99 for a, b in zip(got.masks, masks))


@pytest.mark.parametrize("kwargs, message", [
    (dict(points=[[1, 2]]), "points need labels"),
    (dict(labels=[1]), "labels were given without points"),
    (dict(points=[[1, 2]], labels=[2]), "labels must be 1"),
    (dict(points=[[1, 2], [3, 4]], labels=[1]), "one per point"),
    (dict(points=[[1, 2, 3]], labels=[1]), "shape (N, 2)"),
    (dict(points=[[float("nan"), 2]], labels=[1]), "NaN"),
    (dict(points=[[80, 10]], labels=[1]), "outside the 75x50 image"),
    (dict(box=[1, 2, 3]), "box must be 4 numbers"),
    (dict(mask_input=np.zeros((64, 64))), "mask_input must be one low-res logit map of shape (32, 32)"),
    (dict(), "no prompt"),
])
def test_bad_prompts_are_named(setup, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        setup[2].predict(**kwargs)


def test_box_corners_in_any_order_give_the_same_mask(setup):
    fast = setup[2]
    x0, y0, x1, y1 = BOX
    a = fast.predict(box=[x0, y0, x1, y1])
    b = fast.predict(box=[x1, y1, x0, y0])
    np.testing.assert_array_equal(a.masks, b.masks)


def test_predict_before_set_image_and_bad_images_are_refused():
    engine = SamEngine(build_sam("tiny"))
    with pytest.raises(RuntimeError, match="no image set"):
        engine.predict(points=[[1, 1]], labels=[1])
    with pytest.raises(ValueError, match=r"H x W x 3 uint8 RGB, got shape \(10, 10\)"):
        engine.set_image(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="dtype float32"):
        engine.set_image(np.zeros((10, 10, 3), np.float32))



@pytest.mark.parametrize("original, input_size", [((96, 128), (96, 128)), ((50, 75), (85, 128)), ((300, 700), (55, 128))])
def test_full_size_masks_match_postprocess_masks(original, input_size):
    """Up-scaled by OpenCV instead of torch: the same masks but for pixels whose logit is within rounding of 0."""
    torch.manual_seed(5)
    sam = build_sam("tiny")
    low = torch.randn(1, 3, 32, 32) * 4
    logits = sam.postprocess_masks(low, input_size, original)[0]
    masks = full_size_masks(sam, low, input_size, original)
    assert masks.shape == (3, *original) and masks.dtype == bool
    differ = masks != (logits > 0).numpy()
    assert np.all(logits.abs().numpy()[differ] < 1e-4)
