"""What a training run reports while it works: phases, warnings, steps (loss, learning rate, gates, ETA), metrics."""
from __future__ import annotations

from dataclasses import dataclass

from app.errors import AppError


@dataclass(frozen=True)
class PhaseEvent:
    """A stage of the run begins, e.g. "caching frozen blocks", "validating (before)"."""

    message: str


@dataclass(frozen=True)
class WarningEvent:
    """Something the user should know that does not stop the run, e.g. an image left out; the outcome's
    warnings repeat it."""

    message: str


@dataclass(frozen=True)
class StepEvent:
    """One optimiser step done.

    gates: {block name: {kind: mean gate value}} of this step's forward pass, every value in (0, 1).
    first_iou / last_iou: mean IoU of the simulated session after the first prompt and after the last click.
    """

    step: int
    steps: int
    loss: float
    lr: float
    gates: dict[str, dict[str, float]]
    eta_seconds: float
    first_iou: float
    last_iou: float
    batch_images: int


@dataclass(frozen=True)
class MetricsEvent:
    """Validation metrics, `when` being "before" or "after" training."""

    when: str
    metrics: dict


class TrainingError(AppError, RuntimeError):
    """The root of the trainer's errors: a run that had to stop (non-finite loss, out of memory at the smallest
    batch, no data)."""


class TrainingCancelled(Exception):
    """The user cancelled the run."""
