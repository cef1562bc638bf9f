"""Sam2Engine's fast path against its reference path (transformers' Sam2Model decoder and post_process_masks'
resize, itself checked against the whole transformers pipeline in test_sam2_engine.py) on a random-weight
hiera-t: varied prompts, the single-mask stability fallback, many points, point batches for the proposals."""
import numpy as np
import pytest
import torch

from app.sam2 import build_sam2
from app.sam2.engine import Sam2Engine, pack_features

H, W = 700, 900


@pytest.fixture(scope="module")
def engines():
    """A fast and a reference engine on hiera-t (decoder and prompt encoder moved off transformers' init so
    masks have edges), one image whose random features sit in their shared cache: no encoder run."""
    torch.manual_seed(5)
    model = build_sam2("sam2.1_hiera_t")
    with torch.no_grad():
        for p in [*model.mask_decoder.parameters(), *model.prompt_encoder.parameters()]:
            p.add_(torch.randn_like(p) * 0.05)
    fast = Sam2Engine(model)
    exact = Sam2Engine(model, cache=fast.cache, fast=False)
    rgb = np.zeros((H, W, 3), np.uint8)
    features = [torch.randn(1, 32, 256, 256), torch.randn(1, 64, 128, 128), torch.randn(1, 256, 64, 64)]
    fast.cache.put(fast.cache_key(rgb), pack_features(features))
    assert fast.set_image(rgb) and exact.set_image(rgb)
    return fast, exact


def _prompts(rng, trial):
    """Trial by trial: single points, several with negatives (up to 12: past the folded attention's limit),
    boxes alone and with points."""
    n = 1 if trial % 4 == 0 else int(rng.integers(2, 13))
    points = rng.random((n, 2)) * [W, H] if trial % 5 != 2 else None
    labels = None if points is None else np.r_[1, rng.integers(0, 2, n - 1)]
    box = np.sort(rng.random((2, 2)) * [W, H], axis=0).ravel() if trial % 3 == 0 or points is None else None
    return points, labels, box


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


@pytest.mark.slow
def test_fast_path_gives_the_reference_masks(engines):
    fast, exact = engines
    rng = np.random.default_rng(0)
    ious, previous, kinds = [], None, set()
    for trial in range(24):
        points, labels, box = _prompts(rng, trial)
        mask_input = previous if trial % 4 == 3 else None
        multimask = trial % 2 == 0
        got = fast.predict(points, labels, box, mask_input, multimask)
        want = exact.predict(points, labels, box, mask_input, multimask)
        assert got.masks.shape == want.masks.shape == (3 if multimask else 1, H, W)
        assert np.abs(got.scores - want.scores).max() <= 1e-4
        assert np.abs(got.low_res_logits - want.low_res_logits).max() <= 1e-4
        ious += [_iou(a, b) for a, b in zip(got.masks, want.masks)]
        kinds.add((points is not None, box is not None, mask_input is not None))
        previous = want.low_res_logits[want.best]
    # a mask alone: the decoder gets a padding point, as Sam2Model.forward gives it
    got, want = fast.predict(mask_input=previous), exact.predict(mask_input=previous)
    assert np.abs(got.low_res_logits - want.low_res_logits).max() <= 1e-4
    ious += [_iou(a, b) for a, b in zip(got.masks, want.masks)]
    assert min(ious) >= 0.99 and len(ious) == 51
    assert kinds >= {(True, False, False), (False, True, False), (True, True, False), (True, False, True)}


@pytest.mark.slow
def test_single_mask_keeps_or_falls_back_as_the_reference_does(engines, monkeypatch):
    """SAM 2 replaces an unstable single mask (stability score below the threshold) by the best multimask
    candidate. With the threshold at the median of these prompts' stability, both outcomes occur, and the fast path
    makes the reference's choice each time; with the fallback off, both give mask 0."""
    fast, exact = engines
    dec = exact.model.mask_decoder
    points = np.random.default_rng(1).random((12, 1, 2)) * [W, H]
    labels = np.array([1])
    monkeypatch.setattr(dec, "dynamic_multimask_via_stability", False)
    first = [exact.predict(p, labels, multimask=False).low_res_logits for p in points]
    for p, want in zip(points, first):
        assert np.abs(fast.predict(p, labels, multimask=False).low_res_logits - want).max() <= 1e-4
    stability = [float(dec._get_stability_scores(torch.as_tensor(logits))) for logits in first]
    monkeypatch.setattr(dec, "dynamic_multimask_via_stability", True)
    monkeypatch.setattr(dec, "dynamic_multimask_stability_thresh", float(np.median(stability)))
    outcomes = []
    for p, mask_0 in zip(points, first):
        got, want = fast.predict(p, labels, multimask=False), exact.predict(p, labels, multimask=False)
        assert np.abs(got.low_res_logits - want.low_res_logits).max() <= 1e-4
        assert np.abs(got.scores - want.scores).max() <= 1e-4
        outcomes.append(bool(np.abs(want.low_res_logits - mask_0).max() > 0))
    assert 0 < sum(outcomes) < len(outcomes)


@pytest.mark.slow
def test_point_batches_give_the_reference_candidates(engines):
    fast, exact = engines
    points = np.random.default_rng(2).random((5, 2)) * [W, H]
    got, want = fast.point_logits(points), exact.point_logits(points)
    assert got.low_res.shape == want.low_res.shape == (5, 3, 256, 256)
    assert (got.low_res - want.low_res).abs().max() <= 1e-4 and (got.scores - want.scores).abs().max() <= 1e-5
    plane = got.low_res[0, 0].numpy()
    up_fast, up_exact = fast.logits_at_image_size(plane, got), exact.logits_at_image_size(plane, got)
    assert up_fast.shape == (H, W) and np.abs(up_fast - up_exact).max() <= 1e-4
