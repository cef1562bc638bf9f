"""The draft: prompts, brush strokes and the chosen SAM candidate of the object being annotated.

A `Draft` is an immutable value; every edit makes a new one, so undo and redo just swap drafts. The
draft's mask is not stored in it: it is SAM's mask for the draft's prompts (kept by prompts in
`app.annotate.image_state`) with the draft's strokes painted over it, so manual corrections survive
further clicks. Masks are `MaskCrop`s: a crop and where it lies, grown as far as the brush reaches.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from app.tiles.mask_crop import MaskCrop


@dataclass(frozen=True)
class Prompts:
    """SAM prompts on one image: points (x, y, positive) in image pixels and an optional box x0, y0, x1, y1."""

    points: tuple[tuple[float, float, bool], ...] = ()
    box: tuple[float, float, float, float] | None = None

    @property
    def empty(self) -> bool:
        """True when there is no point and no box."""
        return not self.points and self.box is None

    @property
    def multimask(self) -> bool:
        """Ask SAM for its three candidates: only one point and no box is ambiguous enough to need them."""
        return len(self.points) == 1 and self.box is None

    def with_point(self, x: float, y: float, positive: bool) -> "Prompts":
        """These prompts plus one point."""
        return replace(self, points=self.points + ((float(x), float(y), bool(positive)),))

    def with_box(self, x0: float, y0: float, x1: float, y1: float) -> "Prompts":
        """These prompts with the box replaced (SAM takes one box); corners in any order."""
        box = (float(min(x0, x1)), float(min(y0, y1)), float(max(x0, x1)), float(max(y0, y1)))
        return replace(self, box=box)

    def refines(self, earlier: "Prompts") -> bool:
        """True when these prompts only add to `earlier` (same box or a first box, earlier points kept)."""
        return (not earlier.empty and self.points[:len(earlier.points)] == earlier.points
                and earlier.box in (None, self.box))

    def arrays(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """(points N x 2, labels N, box 4) as SamEngine.predict takes them; None where absent."""
        if not self.points:
            coords = labels = None
        else:
            coords = np.array([(x, y) for x, y, _ in self.points], dtype=np.float32)
            labels = np.array([1 if positive else 0 for _, _, positive in self.points], dtype=np.int64)
        box = None if self.box is None else np.array(self.box, dtype=np.float32)
        return coords, labels, box


@dataclass(frozen=True)
class Stroke:
    """A brush (or eraser) stroke: a polyline in image pixels painted with a round brush of `radius` pixels."""

    points: tuple[tuple[float, float], ...]
    radius: float
    erase: bool = False

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), end exclusive, of every pixel the stroke may paint (before clipping to the image)."""
        pts = np.round(np.array(self.points, dtype=np.float64)).astype(np.int64)
        reach = int(np.ceil(self.radius)) + 1
        return (int(pts[:, 0].min()) - reach, int(pts[:, 1].min()) - reach, int(pts[:, 0].max()) + reach + 1,
                int(pts[:, 1].max()) + reach + 1)

    def paint(self, mask: np.ndarray, origin: tuple[int, int] = (0, 0)) -> None:
        """Paint (or erase) this stroke into a bool mask whose top-left is image pixel `origin`, in place."""
        canvas = mask.view(np.uint8)
        value = 0 if self.erase else 1
        thickness = max(1, int(round(2 * self.radius)))
        pts = np.round(np.array(self.points, dtype=np.float64) - origin).astype(np.int32)
        if len(pts) == 1:
            cv2.circle(canvas, tuple(int(v) for v in pts[0]), max(0, int(round(self.radius))), value, -1)
        else:
            cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, value, thickness, cv2.LINE_8)
            for end in (pts[0], pts[-1]):
                cv2.circle(canvas, (int(end[0]), int(end[1])), max(0, int(round(self.radius))), value, -1)


@dataclass(frozen=True)
class Draft:
    """The object being annotated: its prompts, the strokes painted on it, and the candidate picked with Tab.

    `choice` is the index of SAM's candidate mask; None means the one with the best score. `proposal` is the
    automatic proposal the draft started from (its prompt point and mask), kept through later edits so the instance
    accepted from it links it.
    """

    prompts: Prompts = field(default_factory=Prompts)
    strokes: tuple[Stroke, ...] = ()
    choice: int | None = None
    proposal: int | None = None

    @property
    def empty(self) -> bool:
        """True when the draft has neither prompts nor strokes."""
        return self.prompts.empty and not self.strokes

    @property
    def unedited(self) -> bool:
        """True when the mask is SAM's answer to a single prompt (one point or one box) with no stroke over it:
        no refining click, no brush or eraser. Which of SAM's candidates is shown does not matter."""
        single = (len(self.prompts.points), self.prompts.box is not None) in ((1, False), (0, True))
        return single and not self.strokes

    def paint(self, base: MaskCrop) -> MaskCrop:
        """`base` (SAM's mask, or an empty one) with this draft's strokes painted over it, in a new crop grown to
        hold the brush strokes (erasing outside the crop changes nothing)."""
        painted = [s.box for s in self.strokes if not s.erase]
        grow = None if not painted else (min(b[0] for b in painted), min(b[1] for b in painted),
                                         max(b[2] for b in painted), max(b[3] for b in painted))
        mask = base.covering(grow)
        for stroke in self.strokes if mask.pixels.size else ():
            stroke.paint(mask.pixels, mask.origin)
        return mask


@dataclass(frozen=True, eq=False)
class PromptRequest:
    """A prediction for the session to ask of SAM: prompts on one image, with the logits to refine from and the
    `frame` they belong to (the earlier prediction's), and `model`, which model it was asked of (the image
    state's count of model changes)."""

    image_id: int
    prompts: Prompts
    mask_input: np.ndarray | None
    multimask: bool
    model: int = 0
    frame: tuple[int, int, int, int] | None = None
