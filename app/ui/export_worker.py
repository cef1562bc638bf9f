"""The export worker: runs `app.coco.export_job.run_export` in its own QThread and reports through signals.

It reads the project through its own read-only handle (the GUI thread keeps the writing one) and never writes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot

from app.coco.errors import CocoError, ExportCancelled
from app.coco.export_job import run_export
from app.store import Project, StoreError
from app.ui.job_worker import JobWorker


@dataclass(frozen=True)
class ExportJob:
    """One export: the project folder, the target (a file for COCO, a folder for PNG) and the format name."""

    folder: Path
    out: Path
    fmt: str


class ExportWorker(JobWorker):
    """Lives in the export thread; a cancel stops the export before its next image."""

    progress = Signal(int, int)     # images done, total
    finished = Signal(object)       # ExportResult

    @Slot(object)
    def run(self, job: ExportJob) -> None:
        def export():
            with Project.open(job.folder, readonly=True) as project:
                return run_export(project, job.out, job.fmt, progress=self.progress.emit, cancel=self.cancelled)

        done, result = self.attempt(export, ExportCancelled, (CocoError, StoreError, OSError))
        if done:
            self.finished.emit(result)
