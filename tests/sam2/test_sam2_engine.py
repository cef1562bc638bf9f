"""Sam2Engine, its fast path and its reference path, against transformers' own image pipeline (Sam2Processor ->
Sam2Model -> post_process_masks) on a random-weight model: varied prompts, multimask on and off, boxes, refinement
with the previous logits; the cache."""
import numpy as np
import pytest
import torch
from transformers import Sam2ImageProcessor, Sam2Processor

from app.sam2.engine import Sam2Engine, pack_features, unpack_features


@pytest.fixture
def model(tiny_sam2):
    return tiny_sam2


def _reference(model, processor, rgb, points, labels, box, mask_input, multimask):
    kwargs = {}
    if points is not None:
        kwargs.update(input_points=[[points.tolist()]], input_labels=[[labels.tolist()]])
    if box is not None:
        kwargs["input_boxes"] = [[box.tolist()]]
    inputs = processor(images=rgb, return_tensors="pt", **kwargs)
    extra = {} if mask_input is None else {"input_masks": torch.as_tensor(mask_input)[None, None]}
    with torch.no_grad():
        out = model(pixel_values=inputs["pixel_values"], input_points=inputs.get("input_points"),
                    input_labels=inputs.get("input_labels"), input_boxes=inputs.get("input_boxes"),
                    multimask_output=multimask, **extra)
    masks = processor.post_process_masks(out.pred_masks, inputs["original_sizes"])[0][0].numpy()
    return masks, out.iou_scores[0, 0].numpy(), out.pred_masks[0, 0].numpy()


@pytest.mark.slow
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_masks_equal_the_transformers_pipeline(model, fast):
    rng = np.random.default_rng(0)
    rgb = (rng.random((97, 161, 3)) * 255).astype(np.uint8)
    processor = Sam2Processor(image_processor=Sam2ImageProcessor(size={"height": 128, "width": 128}))
    engine = Sam2Engine(model, fast=fast)
    engine.set_image(rgb)
    ious, previous = [], None
    for trial in range(24):
        n = int(rng.integers(1, 6))
        points = rng.random((n, 2)) * [161, 97] if trial % 4 != 3 else None
        labels = None if points is None else np.r_[1, rng.integers(0, 2, n - 1)]
        box = np.sort(rng.random((2, 2)) * [161, 97], axis=0).ravel() if trial % 3 == 0 or points is None else None
        mask_input = previous if trial % 5 == 4 else None
        multimask = trial % 2 == 0
        want, scores, logits = _reference(model, processor, rgb, points, labels, box, mask_input, multimask)
        got = engine.predict(points, labels, box, mask_input, multimask)
        assert got.masks.shape == want.shape == (3 if multimask else 1, 97, 161)
        assert np.abs(got.scores - scores).max() <= 1e-5 and np.abs(got.low_res_logits - logits).max() <= 1e-4
        ious += [(a & b).sum() / max(1, (a | b).sum()) for a, b in zip(got.masks, want) if (a | b).any()]
        previous = got.low_res_logits[got.best]
    assert len(ious) >= 30 and min(ious) >= 0.99


def test_features_are_cached_packed_exactly(model):
    engine = Sam2Engine(model)
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[10:30, 20:50] = 200
    assert engine.set_image(rgb) is False
    fresh = [f.clone() for f in engine.features]
    assert engine.set_image(rgb) is True
    assert all(torch.equal(a, b) for a, b in zip(fresh, engine.features))
    assert all(torch.equal(a, b) for a, b in zip(unpack_features(pack_features(fresh)), fresh))
    with torch.no_grad():
        direct = model.get_image_embeddings(engine.pixel_values(rgb))
    assert all(torch.equal(a, b) for a, b in zip(direct, fresh))


@pytest.mark.slow
def test_point_logits_are_predicts_candidates_in_one_batch(model):
    rng = np.random.default_rng(3)
    rgb = (rng.random((97, 161, 3)) * 255).astype(np.uint8)
    engine = Sam2Engine(model)
    engine.set_image(rgb)
    points = rng.random((5, 2)) * [161, 97]
    out = engine.point_logits(points)
    assert out.low_res.shape == (5, 3, 32, 32) and out.scores.shape == (5, 3) and out.original_size == (97, 161)
    for point, low, scores in zip(points, out.low_res, out.scores):
        one = engine.predict(point[None], np.array([1]))
        assert np.abs(low.numpy() - one.low_res_logits).max() <= 1e-5
        assert np.abs(scores.numpy() - one.scores).max() <= 1e-6
        up = np.stack([engine.logits_at_image_size(plane, out) for plane in low.numpy()])
        assert ((up > engine.mask_threshold) == one.masks).mean() >= 0.9999


@pytest.mark.slow
def test_prefetch_cache_key_and_sibling_share_the_cache(model):
    engine = Sam2Engine(model)
    images = [np.full((30, 40, 3), v, np.uint8) for v in (10, 200)]
    report = engine.prefetch([*images, "no/such/file.png"])
    assert (report.embedded, report.cached, len(report.failed)) == (2, 0, 1) and "no/such/file.png" in report.failed[0]
    assert engine.prefetch(images).cached == 2
    twin = engine.sibling()
    assert twin.cache is engine.cache and twin.model is engine.model and twin.precision == engine.precision
    assert Sam2Engine(model, fast=False).sibling().fast is False
    assert twin.set_image(images[0]) is True
    assert engine.cache_key(images[0]) == twin.cache_key(images[0]) != engine.cache_key(images[1])
