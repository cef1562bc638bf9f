"""propose_instances' contract: fields, order, accepted instances, progress, cancel, crops, wrapped models."""
import numpy as np
import pytest
import torch

from app.autoseg import AutoParams, ProposalsCancelled, ProposedMask, propose_instances
from app.sam.engine import SamEngine
from app.store.masks import mask_to_rle
from app.synth import make_scene

ALL = AutoParams(points_per_side=4, pred_iou_thresh=0, stability_score_thresh=0)  # no quality filter


@pytest.fixture
def image():
    return make_scene("shapes", 3, 0, size=128).image[:96]


def test_proposals_carry_their_mask_area_box_and_point_best_first(tiny_sam, image):
    proposals = propose_instances(SamEngine(tiny_sam), image, ALL)
    assert proposals and all(isinstance(p, ProposedMask) for p in proposals)
    scores = [p.predicted_iou for p in proposals]
    assert scores == sorted(scores, reverse=True)
    for p in proposals:
        mask = p.mask()
        assert mask.shape == (96, 128) and mask.dtype == bool
        assert p.rle == mask_to_rle(mask) and p.area == mask.sum()
        ys, xs = np.nonzero(mask)
        assert p.area > 0 and p.bbox == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert 0 <= p.point[0] < 128 and 0 <= p.point[1] < 96


def test_a_mask_of_no_pixel_is_never_proposed_even_with_the_filters_off(tiny_sam, image):
    tiny_sam.mask_threshold = 1e9   # every candidate thresholds to nothing
    assert propose_instances(SamEngine(tiny_sam), image, ALL) == []


@pytest.mark.slow
def test_proposals_mostly_inside_accepted_instances_are_dropped(tiny_sam, image):
    engine = SamEngine(tiny_sam)
    everything = propose_instances(engine, image, ALL)
    accepted = next(p.mask() for p in everything if 0 < p.area < image.shape[0] * image.shape[1] // 2)
    kept = propose_instances(engine, image, ALL, accepted=[accepted])

    def inside(p):
        return (p.mask() & accepted).sum() / max(p.area, 1)

    assert kept == [p for p in everything if inside(p) <= 0.5]
    assert len(kept) < len(everything)
    strict = propose_instances(engine, image, AutoParams.from_dict({**ALL.to_dict(), "accepted_overlap": 0.0}),
                               accepted=[accepted])
    assert strict == [p for p in everything if inside(p) == 0]


def test_accepted_masks_of_another_size_are_refused(tiny_sam, image):
    with pytest.raises(ValueError, match="accepted mask 0 must be a 96 x 128 bool array"):
        propose_instances(SamEngine(tiny_sam), image, ALL, accepted=[np.zeros((128, 128), bool)])


@pytest.mark.slow
def test_progress_after_each_batch_and_cancel_before_one(tiny_sam, image):
    engine, calls = SamEngine(tiny_sam), []
    params = AutoParams(points_per_side=4, points_per_batch=5, pred_iou_thresh=0, stability_score_thresh=0)
    propose_instances(engine, image, params, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 16 points, 5 a batch
    calls.clear()
    with pytest.raises(ProposalsCancelled):
        propose_instances(engine, image, params, progress=lambda d, t: calls.append(d), cancel=lambda: len(calls) == 2)
    assert calls == [1, 2]


@pytest.mark.slow
def test_after_crop_layers_the_engine_holds_the_whole_image_again(tiny_sam, image):
    engine = SamEngine(tiny_sam)
    params = AutoParams(points_per_side=4, crop_n_layers=1, pred_iou_thresh=0, stability_score_thresh=0)
    propose_instances(engine, image, params)
    assert torch.equal(engine.image_embedding, engine.embedding_for(image))
    with pytest.raises(ProposalsCancelled):
        propose_instances(engine, image, params, progress=lambda d, t: None, cancel=iter([False, False, True]).__next__)
    assert torch.equal(engine.image_embedding, engine.embedding_for(image))


@pytest.mark.slow
def test_exact_engine_and_decoder_lora_model_give_the_fast_engines_masks(tiny_sam, image):
    from app.mopeft import MoPEFTConfig, wrap

    def same(a, b):  # float rounding apart
        return len(a) == len(b) and all((p.mask() == q.mask()).mean() > 0.999 for p, q in zip(a, b))

    fast = propose_instances(SamEngine(tiny_sam), image, ALL)
    assert same(propose_instances(SamEngine(tiny_sam, fast=False), image, ALL), fast)
    wrapped = wrap(tiny_sam, MoPEFTConfig(["lora", "decoder_lora"]))  # prompts decoded one by one
    assert same(propose_instances(SamEngine(wrapped), image, ALL), fast)


def test_nothing_found_with_crop_layers_is_an_empty_list(tiny_sam, image):
    """(SamAutomaticMaskGenerator raises an IndexError here.)"""
    params = AutoParams(points_per_side=2, crop_n_layers=1, pred_iou_thresh=1.0)
    assert propose_instances(SamEngine(tiny_sam), image, params) == []
