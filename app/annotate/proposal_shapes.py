"""The shapes of an image's pending proposals, without Qt: their outlines for drawing and the one under a pixel.

Proposal ids are never reused and a proposal's mask never changes, so outlines and masks are computed once per
proposal: outlines kept for the project (they can be computed off the GUI thread, `outlines_of`, and handed in),
masks while their image is shown.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.annotate.overlay import outlines
from app.store import Proposal


def outlines_of(proposal: Proposal) -> list[np.ndarray]:
    """The outer and hole boundaries of a proposal's mask (polygons as `overlay.outlines` gives them)."""
    x, y, w, h = proposal.bbox
    return outlines(np.ascontiguousarray(proposal.mask[y:y + h, x:x + w]), (x, y))


class ProposalShapes:
    """Outlines and masks of the proposals shown, by proposal id."""

    def __init__(self) -> None:
        self._outlines: dict[int, list[np.ndarray]] = {}
        self._masks: dict[int, np.ndarray] = {}   # each mask inside its bounding box

    def add_outlines(self, known: dict[int, list[np.ndarray]]) -> None:
        """Take outlines computed elsewhere (by `outlines_of`), by proposal id."""
        self._outlines.update(known)

    def keep(self, proposals: Iterable[Proposal]) -> None:
        """Forget the masks of every proposal but these (the ones shown now); outlines, small, stay for when their
        image is shown (those of a whole run are handed in as it goes)."""
        ids = {p.id for p in proposals}
        for gone in set(self._masks) - ids:
            del self._masks[gone]

    def clear(self) -> None:
        """Forget everything (another project)."""
        self._outlines.clear()
        self._masks.clear()

    def outlines(self, proposal: Proposal) -> list[np.ndarray]:
        """The proposal's outline polygons."""
        if proposal.id not in self._outlines:
            self._outlines[proposal.id] = outlines_of(proposal)
        return self._outlines[proposal.id]

    def at(self, proposals: Iterable[Proposal], x: float, y: float) -> Proposal | None:
        """The smallest of `proposals` whose mask holds image pixel (x, y); None when none does."""
        px, py = int(np.floor(x)), int(np.floor(y))
        found = None
        for p in proposals:
            bx, by, bw, bh = p.bbox
            if not (bx <= px < bx + bw and by <= py < by + bh) or (found is not None and p.area >= found.area):
                continue
            if p.id not in self._masks:   # the mask inside its box: a small image's worth per proposal
                self._masks[p.id] = np.ascontiguousarray(p.mask[by:by + bh, bx:bx + bw])
            if self._masks[p.id][py - by, px - bx]:
                found = p
        return found
