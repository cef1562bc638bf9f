"""How uncertain the model is about an image, from its automatic proposals alone (issue 21 item 4).

Every score takes what the store keeps of each pending proposal (`predicted_iou`, `stability`, `area`: an
`app.store.Proposal` or an `app.autoseg.ProposedMask` alike), so the window can rank its images without running
the model again. Higher means more uncertain; an image without a proposal scores 1, the most uncertain (the
model found nothing it trusts there). `mopeft bench loop` measures every candidate in `SCORES` against the actions
the simulated annotator needed; `image_uncertainty` is the one kept (docs/benchmarks.md says why).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol


class ScoredProposal(Protocol):
    """What a score reads of a proposal."""

    predicted_iou: float
    stability: float
    area: int


def _doubt(p: ScoredProposal) -> float:
    """1 - predicted IoU x stability: 0 for a proposal the model is sure of, 1 when a score is not a number (the
    stability of a mask empty at both offsets is 0 / 0)."""
    sure = float(p.predicted_iou) * float(p.stability)
    return 1.0 - sure if math.isfinite(sure) else 1.0


def mean_doubt(proposals: Sequence[ScoredProposal]) -> float:
    """The mean over the proposals of 1 - predicted IoU x stability (1 without proposals)."""
    if not proposals:
        return 1.0
    return sum(_doubt(p) for p in proposals) / len(proposals)


def area_doubt(proposals: Sequence[ScoredProposal]) -> float:
    """`mean_doubt` weighted by each proposal's area, so a large doubtful mask counts more (1 without proposals)."""
    total = sum(int(p.area) for p in proposals)
    if total <= 0:
        return 1.0
    return sum(_doubt(p) * int(p.area) for p in proposals) / total


def scarcity(proposals: Sequence[ScoredProposal]) -> float:
    """1 / (1 + the number of proposals): the fewer masks the model trusts, the more it missed."""
    return 1.0 / (1 + len(proposals))


SCORES: dict[str, Callable[[Sequence[ScoredProposal]], float]] = {
    "mean_doubt": mean_doubt, "area_doubt": area_doubt, "scarcity": scarcity}
"""The candidate scores by name, as `mopeft bench loop --uncertainty` takes them."""

DEFAULT_SCORE = "mean_doubt"
"""The candidate `image_uncertainty` uses: on the demo model the loop bench could not tell the three apart, and this
one reads both scores per proposal without counting masks or letting one large mask outweigh the rest."""


def image_uncertainty(proposals: Sequence[ScoredProposal]) -> float:
    """How uncertain the model is about an image, from its pending proposals: higher is more uncertain."""
    return SCORES[DEFAULT_SCORE](proposals)
