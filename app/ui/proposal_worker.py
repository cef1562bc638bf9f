"""The proposals worker: runs `app.services.proposing.propose_images` in its own QThread and reports through signals.

It proposes on an engine of its own over the model worker's model weights and embedding cache
(`proposal_engine`), so the annotator's engine keeps its current image and clicks are answered meanwhile; the
weights are never changed in place (an adapter or precision switch makes a new engine, and the job keeps the one it
started with, which its proposals record). It writes each image's proposals through the window's project handle,
whose lock serialises it with the GUI thread: one short transaction per image.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import torch
from PySide6.QtCore import Signal, Slot

from app.annotate.proposal_shapes import outlines_of
from app.errors import AppError
from app.sam.engine import SamEngine
from app.services.proposing import (AutoParams, ImageProposed, Proposer, ProposingCancelled, propose_images,
                                    proposal_engine)
from app.store import Image, Project
from app.ui.job_worker import JobWorker


@dataclass(frozen=True)
class ProposalJob:
    """One run: the project, the model worker's engine and what it runs (model name, adapter version id or None),
    the images in order, the parameters and the torch threads to use."""

    project: Project
    engine: SamEngine
    model: str
    adapter_version_id: int | None
    images: list[Image]
    params: AutoParams
    threads: int


class ProposalWorker(JobWorker):
    """Lives in the proposals thread; a cancel stops the run before the next batch of points."""

    progress = Signal(object)           # BatchDone or ImageSkipped
    proposed = Signal(object, object)   # ImageProposed, {proposal id: outline polygons} computed here
    finished = Signal(object)           # ProposingSummary

    @Slot(object)
    def run(self, job: ProposalJob) -> None:
        torch.set_num_threads(job.threads)

        def work():
            proposer = Proposer(proposal_engine(job.engine), job.model, job.adapter_version_id)
            return propose_images(job.project, proposer, job.images, job.params, on_event=self._event,
                                  cancel=self.cancelled)

        done, summary = self.attempt(work, ProposingCancelled, (AppError, OSError, sqlite3.Error))
        if done:
            self.finished.emit(summary)

    def _event(self, event) -> None:
        if isinstance(event, ImageProposed):
            self.proposed.emit(event, {p.id: outlines_of(p) for p in event.proposals})
        else:
            self.progress.emit(event)
