"""A fine-tuning run's life, Qt-free: begin (record it, fix the validation split, pick the version to continue
from), run (read the annotated images, train, save the adapter file; emits events), finish (record the new version
and switch it on when it validated at least as well) or fail (record why; the version in use stays).

`begin`, `finish` and `fail` write the project and belong to whoever holds it open for writing (the window's GUI
thread, the CLI); `FineTuneRun.run` only reads, through the handle it is given or a read-only one of its own, so it
can run in a worker thread. `mopeft train` and the window go through exactly these steps.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from app.services.model_session import active_adapter
from app.store.errors import StoreError
from app.store.project import Project
from app.store.records import AdapterVersion, RunStatus
from app.training.finetune.activation import Activation, ActivationPolicy, decide_activation
from app.training.finetune.events import WarningEvent
from app.training.finetune.examples import collect_examples
from app.training.finetune.run import TrainingOutcome, fine_tune, record_outcome
from app.training.finetune.settings import TrainSettings
from app.training.family import training_family
from app.training.finetune.validation import update_split


def cannot_train(project: Project, skip_unedited: bool = False) -> str | None:
    """Why a run on this project would have nothing to learn from (None: it has)."""
    if not any(project.instances.counts_per_image().values()):
        return "Accept at least one instance first: fine-tuning learns from accepted instances."
    count = project.instances.unedited_count()
    if skip_unedited and count.unedited == count.total:
        return ("Every accepted instance was accepted unedited: correct some (more clicks, brush or eraser), "
                "or leave them in.")
    return None


@dataclass(frozen=True)
class FinishedRun:
    """A finished run as recorded: the new version, its number (v1, v2, ...), the version in use now (None: the
    base model) and its name, and the activation decision."""

    version: AdapterVersion
    number: int
    active: AdapterVersion | None
    in_use: str
    activation: Activation


@dataclass(frozen=True)
class FineTuneRun:
    """One begun run: plain values, safe to hand to a worker thread."""

    run_id: int
    model_name: str
    folder: Path
    adapters_dir: Path
    settings: TrainSettings
    start_adapter: Path | None
    held_out: frozenset[str]
    skip_unedited: bool = False

    @classmethod
    def begin(cls, project: Project, model_name: str, settings: TrainSettings,
              skip_unedited: bool = False) -> FineTuneRun:
        """Record a new run of `settings` on `model_name` (the base model's name or checkpoint) and assign the
        new annotated images to the validation split. The run continues from the active version only when that
        was trained on the same base model. Raises StoreError."""
        held_out = update_split(project)
        record = project.training_runs.start({**settings.to_dict(), "model": model_name})
        return cls(record.id, model_name, project.folder, project.adapters_dir, settings,
                   active_adapter(project, model_name), held_out, skip_unedited)

    def run(self, base: nn.Module, on_event: Callable[[object], None] | None = None,
            cancel: Callable[[], bool] | None = None, project: Project | None = None) -> TrainingOutcome:
        """Read the annotated images (from `project`, else a read-only handle opened for the moment; a large one
        as crops around its instances at full resolution), fine-tune a copy of `base` and save the adapter file;
        each image left out is told as a WarningEvent and is one of the outcome's first warnings.
        Raises TrainingCancelled, TrainingError, StoreError, OSError, ValueError."""
        side = training_family(base).input_side(base)   # a large image trains on crops of this side at full resolution
        if project is None:
            with Project.open(self.folder, readonly=True) as reader:
                examples, warnings = collect_examples(reader, skip_unedited=self.skip_unedited, crop_side=side)
        else:
            examples, warnings = collect_examples(project, skip_unedited=self.skip_unedited, crop_side=side)
        for warning in warnings if on_event is not None else ():
            on_event(WarningEvent(warning))
        outcome = fine_tune(base, examples, self.settings, self.adapters_dir, self.start_adapter, on_event=on_event,
                            cancel=cancel, metadata={"base_model": self.model_name}, held_out=self.held_out)
        outcome.warnings[:0] = warnings
        return outcome

    def finish(self, project: Project, outcome: TrainingOutcome,
               policy: ActivationPolicy | str = ActivationPolicy.IF_BETTER) -> FinishedRun:
        """Record the new version and the run's end; the version becomes the active one when `policy` says so
        (`decide_activation`). Raises StoreError or OSError (the run is then marked failed, if it can be)."""
        activation = decide_activation(outcome.before, outcome.after, policy)
        try:
            version = record_outcome(project, outcome, self.model_name, self.run_id, activate=activation.activate)
            versions = project.adapters.list()
            active = project.adapters.active()
        except (StoreError, OSError) as exc:
            self.fail(project, f"the adapter file {outcome.adapter_path} could not be recorded: {exc}")
            raise
        ids = [v.id for v in versions]
        in_use = "the base model" if active is None else f"v{ids.index(active.id) + 1}"
        return FinishedRun(version, ids.index(version.id) + 1, active, in_use, activation)

    def fail(self, project: Project, message: str, cancelled: bool = False) -> None:
        """Mark the run failed (or cancelled) with `message`. When even that cannot be written, the run stays
        "running" in the store and the next open marks it interrupted; nothing is raised."""
        status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
        try:
            project.training_runs.finish(self.run_id, status, {"error": message})
        except (StoreError, OSError):
            pass
