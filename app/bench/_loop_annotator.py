"""The simulated annotator of `mopeft bench loop`: one image labelled from its ground truth, its actions counted.

With proposals, each pending proposal is reviewed once, best predicted IoU first: accepted (one action) when its
IoU with a ground-truth instance not yet labelled is at least THRESHOLD (that instance is then labelled with the
proposal's mask, accepted as proposed), else rejected (one action). Every instance left is clicked with the
standard protocol (app.metrics.interactive) until IoU >= THRESHOLD, each click an action; one that never gets
there costs `max_clicks` and is taken with its ground-truth mask, as if corrected with the brush.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.metrics.dataset import EvalImage
from app.metrics.interactive import Predictor, click_ious, clicks_to_reach

THRESHOLD = 0.85
"""The IoU at which an instance counts as labelled, by clicks or by accepting a proposal."""


@dataclass(frozen=True)
class ImageActions:
    """What labelling one image took: actions in all (clicks + accepted + rejected), how many instances were
    accepted as proposed, clicked, and clicked without reaching THRESHOLD; the masks it ended with (one per
    ground-truth instance, in its order); the image's uncertainty scores (by name) when it had proposals."""

    image: str
    instances: int
    actions: int
    clicks: int
    accepted: int
    rejected: int
    failed: int
    masks: list[np.ndarray] = field(repr=False, compare=False)
    scores: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        """The counts and scores as plain JSON (no masks)."""
        return {"image": self.image, "instances": self.instances, "actions": self.actions, "clicks": self.clicks,
                "accepted": self.accepted, "rejected": self.rejected, "failed": self.failed, "scores": self.scores}


def review(proposals: Sequence, truth: Sequence[np.ndarray]) -> tuple[dict[int, np.ndarray], int]:
    """The simulated review of `proposals` (best first, each with `mask()`): {ground-truth index: accepted mask}
    and the number rejected."""
    stack = np.stack([np.asarray(t, dtype=bool) for t in truth]).reshape(len(truth), -1)
    sizes = stack.sum(axis=1)
    accepted: dict[int, np.ndarray] = {}
    rejected = 0
    for proposal in proposals:
        mask = np.asarray(proposal.mask(), dtype=bool)
        inter = stack[:, mask.reshape(-1)].sum(axis=1)
        iou = inter / np.maximum(sizes + int(mask.sum()) - inter, 1)
        iou[list(accepted)] = -1.0
        best = int(np.argmax(iou))
        if iou[best] >= THRESHOLD:
            accepted[best] = mask
        else:
            rejected += 1
    return accepted, rejected


def label_image(predictor: Predictor, image: EvalImage, proposals: Sequence | None, max_clicks: int = 20,
                scores: dict[str, float] | None = None) -> ImageActions:
    """Label every instance of `image`: review `proposals` first (None: clicks only), then click the rest."""
    truth = [np.asarray(m, dtype=bool) for m in image.masks]
    accepted, rejected = review(proposals, truth) if proposals else ({}, 0)
    masks = [accepted.get(k, gt) for k, gt in enumerate(truth)]
    clicks = failed = 0
    left = [k for k in range(len(truth)) if k not in accepted]
    if left:
        predictor.set_image(image.rgb)
    for k in left:
        ious = click_ious(predictor, truth[k], max_clicks)
        clicks += clicks_to_reach(ious, THRESHOLD)
        failed += max(ious) < THRESHOLD
    return ImageActions(image.name, len(truth), clicks + len(accepted) + rejected, clicks, len(accepted), rejected,
                        failed, masks, dict(scores or {}))
