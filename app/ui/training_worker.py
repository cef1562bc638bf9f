"""The fine-tuning worker: runs `app.training.finetune.fine_tune` in its own QThread and reports through signals.

It reads the project through a second, read-only handle (the GUI thread keeps the writing one), never
writes to it, and never touches the model the annotator is using: `fine_tune` trains a copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PySide6.QtCore import Signal, Slot
from segment_anything.modeling import Sam

from app.store import Project, StoreError
from app.training.finetune.events import TrainingCancelled, TrainingError
from app.training.finetune.examples import collect_examples
from app.training.finetune.run import fine_tune
from app.training.finetune.settings import TrainSettings
from app.ui.job_worker import JobWorker


@dataclass(frozen=True)
class TrainingJob:
    """One run: the base model to adapt, its name, the project, the settings, the adapter to continue from, the
    torch threads, the paths of the project's validation images and whether to leave out the instances accepted
    unedited."""

    base: Sam
    base_model: str
    folder: Path
    adapters_dir: Path
    settings: TrainSettings
    start_adapter: Path | None
    threads: int
    held_out: frozenset[str]
    skip_unedited: bool = False


class TrainingWorker(JobWorker):
    """Lives in the training thread; a cancel stops the run within a step."""

    event = Signal(object)          # PhaseEvent, StepEvent or MetricsEvent
    finished = Signal(object)       # TrainingOutcome

    @Slot(object)
    def run(self, job: TrainingJob) -> None:
        torch.set_num_threads(job.threads)

        def train():
            with Project.open(job.folder, readonly=True) as project:
                examples, warnings = collect_examples(project, skip_unedited=job.skip_unedited)
            outcome = fine_tune(job.base, examples, job.settings, job.adapters_dir, job.start_adapter,
                                on_event=self.event.emit, cancel=self.cancelled,
                                metadata={"base_model": job.base_model}, held_out=job.held_out)
            outcome.warnings[:0] = warnings
            return outcome

        done, outcome = self.attempt(train, TrainingCancelled, (TrainingError, StoreError, OSError, ValueError))
        if done:
            self.finished.emit(outcome)
