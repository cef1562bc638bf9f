"""The shapes of an image's pending proposals, without Qt: their outlines for drawing and the one under a pixel.

Proposal ids are never reused and a proposal's mask never changes, so outlines and masks are computed once per
proposal: outlines kept for the project (they can be computed off the GUI thread, `outlines_of`, and handed in),
masks while their image is shown. A ragged mask (thresholded noise: thousands of specks) is outlined by its edge
pixels instead of polygons: stroking 175,000 points took the GUI thread 300-600 ms, an image of them a few ms.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.annotate.overlay import outlines, tint
from app.store import Proposal
from app.tiles import rle_crop

RAGGED_POINTS = 4000
"""An outline of more points than this is drawn as edge pixels, not as a path (a smooth cell has tens)."""


@dataclass(frozen=True)
class Outline:
    """How a proposal is outlined: closed polygons (image pixels), or for a ragged mask the bool image of its edge
    pixels inside its bounding box, whose top-left is `origin`."""

    polygons: list[np.ndarray]
    edge: np.ndarray | None = None
    origin: tuple[int, int] = (0, 0)


def outline_of(mask: np.ndarray, origin: tuple[int, int] = (0, 0)) -> Outline:
    """The outline of a mask whose top-left pixel is image pixel `origin`: its outer and hole boundaries as
    polygons, or its edge pixels when those would take more than `RAGGED_POINTS` points."""
    polygons = outlines(mask, origin)
    if sum(len(p) for p in polygons) <= RAGGED_POINTS:
        return Outline(polygons)
    return Outline([], edge_pixels(mask), origin)


def outlines_of(proposal: Proposal) -> Outline:
    """The outline of a proposal's mask (`outline_of`)."""
    x, y, w, h = proposal.bbox
    return outline_of(rle_crop(proposal.rle, (x, y, x + w, y + h)), (x, y))


def edge_pixels(mask: np.ndarray) -> np.ndarray:
    """The pixels of `mask` with a 4-neighbour outside it (the image border counts as outside)."""
    padded = np.pad(mask, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inside


def edge_image(outlines: Iterable[Outline], colour: str, alpha: int) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The edge pixels of every ragged outline in `colour` ('#rrggbb') at `alpha` as one RGBA image over their joint
    box, and its top-left (x, y); None when none is ragged."""
    ragged = [o for o in outlines if o.edge is not None]
    if not ragged:
        return None
    x0 = min(o.origin[0] for o in ragged)
    y0 = min(o.origin[1] for o in ragged)
    x1 = max(o.origin[0] + o.edge.shape[1] for o in ragged)
    y1 = max(o.origin[1] + o.edge.shape[0] for o in ragged)
    on = np.zeros((y1 - y0, x1 - x0), bool)
    for o in ragged:
        (h, w), (x, y) = o.edge.shape, o.origin
        on[y - y0:y - y0 + h, x - x0:x - x0 + w] |= o.edge
    pixels, (x, y) = tint(on, colour, alpha)
    return pixels, (x0 + x, y0 + y)


class ProposalShapes:
    """Outlines and masks of the proposals shown, by proposal id."""

    def __init__(self) -> None:
        self._outlines: dict[int, Outline] = {}
        self._masks: dict[int, np.ndarray] = {}   # each mask inside its bounding box

    def add_outlines(self, known: dict[int, Outline]) -> None:
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

    def outline(self, proposal: Proposal) -> Outline:
        """The proposal's outline."""
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
                self._masks[p.id] = rle_crop(p.rle, (bx, by, bx + bw, by + bh))
            if self._masks[p.id][py - by, px - bx]:
                found = p
        return found
