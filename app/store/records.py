"""Plain records the store hands out: images, labels, instances, proposals, adapter versions, training runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import numpy as np

from app.store.masks import rle_to_mask


class ImageStatus(str, Enum):
    """Where an image stands in the annotation work."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class InstanceSource(str, Enum):
    """Where an instance's mask came from."""

    MODEL = "model"            # accepted as SAM proposed it
    CORRECTED = "corrected"    # edited by the annotator
    IMPORTED = "imported"      # read from a COCO file


class ProposalState(str, Enum):
    """Where an automatic proposal stands: waiting for the annotator, taken as an instance, or turned down."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RunStatus(str, Enum):
    """State of a training run; INTERRUPTED marks runs whose process died before finishing."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Image:
    """An image of the project; `path` is relative to the project folder, with '/' separators."""

    id: int
    path: str
    width: int
    height: int
    content_hash: str
    status: ImageStatus
    added_at: str


@dataclass(frozen=True)
class Label:
    """A label; `position` is its place in the label list (0 first), `colour` is '#rrggbb'."""

    id: int
    name: str
    colour: str
    position: int


@dataclass(frozen=True)
class Instance:
    """One object on one image. `rle` is COCO compressed RLE at full resolution; `mask` decodes it."""

    id: int
    image_id: int
    label_id: int
    rle: dict = field(repr=False)
    area: int
    bbox: tuple[int, int, int, int]   # x, y, width, height in pixels
    source: InstanceSource
    created_at: str
    updated_at: str
    unedited: bool | None = None
    """True: SAM's mask for a single prompt (one point or one box) accepted as it came, with no brush or eraser
    stroke and no refining click (picking another of SAM's candidates with Tab keeps it unedited). False:
    anything else (corrected, refined, painted, imported). None: not known (accepted before schema step 2)."""
    proposal_id: int | None = None
    """The automatic proposal it was accepted from (None: made with prompts or imported). With `unedited` True it
    is the proposal's mask as it came; otherwise the annotator corrected it."""
    revision: int = 0
    """Raised by every change: `InstanceTable.update` and `delete` given the revision a client read refuse to act
    on an instance another client has changed since (ConcurrentChangeError)."""

    @cached_property
    def mask(self) -> np.ndarray:
        """The mask as an HxW bool array, decoded once and read-only like the record (copy it to edit)."""
        mask = rle_to_mask(self.rle)
        mask.flags.writeable = False
        return mask


@dataclass(frozen=True)
class Proposal:
    """A mask the automatic segmentation proposed for an image, and which model made it.

    `model` is the base model's name or checkpoint, `adapter_version_id` the adapter version run on it (None: the
    base model alone). `instance_id` is the instance it became while accepted. `stale`: pending, and made by
    another adapter version than the project's active one (or by an adapter while none is active); making the
    image's proposals again replaces it.
    """

    id: int
    image_id: int
    rle: dict = field(repr=False)
    area: int
    bbox: tuple[int, int, int, int]   # x, y, width, height in pixels
    predicted_iou: float
    stability: float
    point: tuple[float, float]        # x, y of the prompt point, image pixels
    model: str
    adapter_version_id: int | None
    state: ProposalState
    created_at: str
    instance_id: int | None
    stale: bool

    @cached_property
    def mask(self) -> np.ndarray:
        """The mask as an HxW bool array, decoded once and read-only (copy it to edit)."""
        mask = rle_to_mask(self.rle)
        mask.flags.writeable = False
        return mask


@dataclass(frozen=True)
class UneditedCount:
    """How many of a project's instances were accepted unedited (see `Instance.unedited`), out of `total`;
    `unknown`: accepted before that was recorded (schema step 2)."""

    unedited: int
    unknown: int
    total: int


@dataclass(frozen=True)
class AdapterVersion:
    """A saved adapter; `path` is relative to the project folder, config and metrics are JSON objects."""

    id: int
    path: str
    base_model: str
    config: dict
    metrics: dict
    created_at: str
    active: bool
    training_run_id: int | None
    sha256: str | None = None
    """SHA-256 of the adapter file, hex (None: recorded before schema step 5); `AdapterTable.file` checks it."""


@dataclass(frozen=True)
class TrainingRun:
    """One fine-tuning run; `finished_at` and `summary` are None while it runs."""

    id: int
    started_at: str
    finished_at: str | None
    status: RunStatus
    settings: dict
    summary: dict | None


@dataclass(frozen=True)
class ScanResult:
    """What a folder scan did: images added, and files left out with the reason."""

    added: list[Image]
    skipped: list[tuple[str, str]]


@dataclass(frozen=True)
class MovedImage:
    """A registered image whose file is gone from its path but whose content was found at `new_path`."""

    image: Image
    new_path: str


@dataclass(frozen=True)
class ImageCheck:
    """Result of checking the image files against their recorded content hashes."""

    missing: list[Image]
    changed: list[Image]
    moved: list[MovedImage]

    @property
    def ok(self) -> bool:
        """True when every image file is where it was and unchanged."""
        return not (self.missing or self.changed or self.moved)
