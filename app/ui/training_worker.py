"""The fine-tuning worker: runs a begun `FineTuneRun` in its own QThread and turns its events into signals.

The run reads the project through a second, read-only handle (the GUI thread keeps the writing one), never
writes to it, and never touches the model the annotator is using: it trains a copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PySide6.QtCore import Signal, Slot
from segment_anything.modeling import Sam

from app.services.training_run import FineTuneRun
from app.store import StoreError
from app.training.finetune.events import TrainingCancelled, TrainingError
from app.ui.job_worker import JobWorker


@dataclass(frozen=True)
class TrainingJob:
    """One begun run, the base model it adapts and the torch threads to use."""

    run: FineTuneRun
    base: Sam
    threads: int


class TrainingWorker(JobWorker):
    """Lives in the training thread and runs `FineTuneRun.run` there; a cancel stops the run within a step."""

    event = Signal(object)          # PhaseEvent, StepEvent or MetricsEvent
    finished = Signal(object)       # TrainingOutcome

    @Slot(object)
    def run(self, job: TrainingJob) -> None:
        torch.set_num_threads(job.threads)
        done, outcome = self.attempt(lambda: job.run.run(job.base, on_event=self.event.emit, cancel=self.cancelled),
                                     TrainingCancelled, (TrainingError, StoreError, OSError, ValueError))
        if done:
            self.finished.emit(outcome)
