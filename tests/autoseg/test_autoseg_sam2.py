"""propose_instances on SAM 2.1 (Sam2Engine, random-weight sam2_tiny): each proposal is the engine's own mask for
its point."""
import pytest
import numpy as np

from app.autoseg import AutoParams, propose_instances
from app.sam2 import Sam2Engine
from app.store.masks import rle_to_mask


@pytest.mark.slow
def test_proposals_are_the_engines_masks_for_their_points(tiny_sam2):
    rgb = (np.random.default_rng(0).random((90, 120, 3)) * 255).astype(np.uint8)
    engine = Sam2Engine(tiny_sam2)
    params = AutoParams(points_per_side=4, points_per_batch=8, pred_iou_thresh=0, stability_score_thresh=0,
                        box_nms_thresh=1)  # random weights: masks alike, all kept
    proposals = propose_instances(engine, rgb, params)
    assert len(proposals) >= 20
    assert [p.predicted_iou for p in proposals] == sorted((p.predicted_iou for p in proposals), reverse=True)
    for p in proposals:
        mask = rle_to_mask(p.rle)
        assert mask.shape == (90, 120) and mask.sum() == p.area > 0
        own = engine.predict(np.array([p.point]), np.array([1]))
        best = min(range(3), key=lambda i: abs(own.scores[i] - p.predicted_iou))
        assert abs(own.scores[best] - p.predicted_iou) <= 1e-5
        assert np.array_equal(own.masks[best], mask)
