"""Automatic proposals for a project's images, Qt-free: which images, one image after another with the accepted
instances left out, each image's proposals stored as its pending ones, with events and a cancel.

`mopeft auto` and the window's Proposals menu both run `propose_images`; `mopeft eval --auto` calls
`propose_image`, the one call into app.autoseg (tests replace it). Each image's proposals replace its pending ones
in one transaction (`project.proposals.replace_pending`), so a cancel or a crash leaves every image either as it
was or with its new proposals. The project handle may be shared with another thread (the window's GUI thread):
the store serialises the two, and one image's write is one short transaction.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.autoseg import AutoParams, ProposalsCancelled, outside_accepted, propose_instances
from app.sam.engine import SamEngine
from app.tiles import TileGrid, needs_tiles
from app.tiles.predictor import ArraySource
from app.tiles.proposals import propose_on_tiles
from app.services.model_session import read_checked
from app.store.errors import StoreError
from app.store.masks import rle_to_mask
from app.store.project import Project
from app.store.records import Image, Proposal

IMAGE_CHOICES = ("unlabelled", "all", "stale")
"""unlabelled: images without instances; all; stale: images whose pending proposals another adapter version made."""

DEMO_PARAMS = AutoParams(points_per_side=16, pred_iou_thresh=0.5, stability_score_thresh=0.6)
"""The demo model's parameters: its predicted IoUs and logits are low and soft, so with SAM's thresholds it proposes
next to nothing; 16 points a side suit its small images."""


def params_for(arch: str) -> AutoParams:
    """The automatic segmentation's parameters for a SAM architecture: SAM's defaults, DEMO_PARAMS for the demo."""
    return DEMO_PARAMS if arch == "demo" else AutoParams()


class ProposingCancelled(Exception):
    """Proposing stopped because `cancel()` returned true (no error: outside app.errors' tree); `summary` says
    what was stored before."""

    def __init__(self, summary: ProposingSummary) -> None:
        super().__init__(f"cancelled; {summary.images} image(s) have new proposals, the others are as they were")
        self.summary = summary


@dataclass(frozen=True)
class Proposer:
    """What proposes: an engine, the model name the proposals record, and the adapter version it runs (None: the
    base model alone)."""

    engine: SamEngine
    model: str
    adapter_version_id: int | None = None


@dataclass(frozen=True)
class BatchDone:
    """A batch of prompt points of image `n` of `total` is decoded: `done` of its `batches`."""

    n: int
    total: int
    image: Image
    done: int
    batches: int


@dataclass(frozen=True)
class ImageProposed:
    """Image `n` of `total` has its new pending proposals (`proposals`, as stored, best first)."""

    n: int
    total: int
    image: Image
    proposals: list[Proposal]
    seconds: float


@dataclass(frozen=True)
class ImageSkipped:
    """Image `n` of `total` could not be read, or is no longer the annotated file: `reason`; it is left as it was."""

    n: int
    total: int
    image: Image
    reason: str


@dataclass
class ProposingSummary:
    """Images given new proposals, proposals stored, images skipped (path, reason), seconds taken."""

    images: int = 0
    proposals: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def version_of(project: Project, adapter: str | Path | None) -> int | None:
    """The id of the project's adapter version whose file is `adapter` (None: the base model, or a file that is
    no version of this project)."""
    if adapter is None:
        return None
    return next((v.id for v in project.adapters.list() if project.path_of(v.path) == Path(adapter)), None)


def proposal_engine(engine: SamEngine) -> SamEngine:
    """An engine of its own for proposing, on the same model weights (never changed in place: an adapter or a
    precision switch makes a new engine) and embedding cache as `engine`. Proposing sets its current image, so
    the annotator's engine keeps theirs; build it in the thread that proposes (it reads the weights once)."""
    return engine.sibling()


def choose_images(project: Project, which: str = "unlabelled", skip_proposed: bool = False) -> list[Image]:
    """The images to propose on (see IMAGE_CHOICES), in list order; `skip_proposed` leaves out the images that
    already have pending proposals of the adapter version in use (a run cancelled and started again resumes)."""
    if which not in IMAGE_CHOICES:
        raise ValueError(f"images to propose on: one of {', '.join(IMAGE_CHOICES)}, not {which!r}")
    images = project.images.list()
    if which == "stale":
        stale = {p.image_id for p in project.proposals.stale()}
        images = [image for image in images if image.id in stale]
    elif which == "unlabelled":
        counts = project.instances.counts_per_image()
        images = [image for image in images if not counts.get(image.id)]
    if skip_proposed:
        pending = project.proposals.pending_counts()
        stale = {p.image_id for p in project.proposals.stale()}
        images = [image for image in images if not pending.get(image.id) or image.id in stale]
    return images


def propose_image(engine: SamEngine, pixels, accepted: Sequence[dict] = (), params: AutoParams | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> list:
    """`app.autoseg.propose_instances` on one image (`pixels`: an RGB array, or a source read region by region such
    as `tiles.tiff_source.TiffSource`; `params`: an AutoParams, None: the defaults), leaving out
    what lies in the `accepted` instances (full-resolution RLEs): its ProposedMask list, best predicted IoU first.
    An image large enough to be tiled at the model's input (`tiles.needs_tiles`) is proposed on tile by tile at full
    resolution and the pieces merged across tile borders (`tiles.proposals`; `progress` then counts tiles; the
    accepted RLEs are read per tile, never decoded whole). Raises app.autoseg.ProposalsCancelled when `cancel()`
    stopped it."""
    source = ArraySource(pixels) if isinstance(pixels, np.ndarray) else pixels
    height, width = source.size
    if needs_tiles(height, width, engine.side):
        grid = TileGrid.for_model(height, width, engine.side)
        return propose_on_tiles(engine, source, grid, params or AutoParams(), accepted=tuple(accepted),
                                progress=progress, cancel=cancel)
    return propose_instances(engine, source.region(0, 0, width, height), params or AutoParams(),
                             accepted=[rle_to_mask(r) for r in accepted], progress=progress, cancel=cancel)


def propose_images(project: Project, proposer: Proposer, images: Sequence[Image], params: AutoParams | None = None,
                   on_event: Callable[[object], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> ProposingSummary:
    """Propose on each image in turn and store its proposals as its pending ones; returns the summary.

    Events (`on_event`): BatchDone, ImageProposed, ImageSkipped. An image that cannot be read, or whose file is
    no longer the annotated one, is skipped and named. `cancel()` is checked before each image and between
    batches of points: ProposingCancelled, with the images done so far stored. StoreError, naming the image,
    when storing fails (the images before it keep their new proposals)."""
    emit = on_event or (lambda _event: None)
    summary, started = ProposingSummary(), time.perf_counter()
    total = len(images)
    try:
        for n, image in enumerate(images, start=1):
            if cancel is not None and cancel():
                raise ProposingCancelled(summary)
            began = time.perf_counter()
            pixels, problem = _read(project, image)
            if problem is not None:
                summary.skipped.append((image.path, problem))
                emit(ImageSkipped(n, total, image, problem))
                continue
            before = project.instances.for_image(image.id)
            try:
                found = propose_image(proposer.engine, pixels, [i.rle for i in before], params, cancel=cancel,
                                      progress=lambda done, batches: emit(BatchDone(n, total, image, done, batches)))
            except ProposalsCancelled:
                raise ProposingCancelled(summary) from None
            found = _outside_new_instances(project, image, {i.id for i in before}, found, params)
            try:
                stored = project.proposals.replace_pending(image.id, found, proposer.model,
                                                           proposer.adapter_version_id)
            except StoreError as exc:
                raise StoreError(f"could not store the proposals of {image.path} ({exc})") from exc
            summary.images, summary.proposals = summary.images + 1, summary.proposals + len(stored)
            emit(ImageProposed(n, total, image, stored, time.perf_counter() - began))
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def _outside_new_instances(project: Project, image: Image, seen: set[int], found: list,
                           params: AutoParams | None) -> list:
    """`found` without what lies in the instances accepted on the image while it was proposed on (the annotator
    goes on in the window meanwhile)."""
    new = [i.mask for i in project.instances.for_image(image.id) if i.id not in seen]
    return outside_accepted(found, new, (params or AutoParams()).accepted_overlap) if new else found


def _read(project: Project, image: Image):
    """(its pixels: an array, or a large TIFF's source read region by region; None), or (None, why it is
    skipped)."""
    try:
        checked = read_checked(project.path_of(image.path), image)
    except (ValueError, OSError) as exc:          # ImageLoadError is a ValueError
        return None, f"cannot be read ({exc})"
    if checked.problem:
        return None, checked.problem
    return (checked.data.rgb if checked.data is not None else checked.tiff), None
