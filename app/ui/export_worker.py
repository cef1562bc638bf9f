"""The export worker: runs `app.coco.export_job.run_export` in its own QThread and reports through signals.

It reads the project through its own read-only handle (the GUI thread keeps the writing one) and never writes it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.coco.errors import CocoError, ExportCancelled
from app.coco.export_job import run_export
from app.store import Project, StoreError


@dataclass(frozen=True)
class ExportJob:
    """One export: the project folder, the target (a file for COCO, a folder for PNG) and the format name."""

    folder: Path
    out: Path
    fmt: str


class ExportWorker(QObject):
    """Lives in the export thread. `cancel()` may be called from any thread; the export stops before its next image."""

    progress = Signal(int, int)     # images done, total
    finished = Signal(object)       # ExportResult
    failed = Signal(str, bool)      # message, True when the user cancelled

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the running export to stop."""
        self._cancel.set()

    @Slot(object)
    def run(self, job: ExportJob) -> None:
        self._cancel.clear()
        try:
            with Project.open(job.folder, readonly=True) as project:
                result = run_export(project, job.out, job.fmt, progress=self.progress.emit,
                                    cancel=self._cancel.is_set)
        except ExportCancelled:
            self.failed.emit("Export cancelled", True)
        except (CocoError, StoreError, OSError) as exc:
            self.failed.emit(str(exc), False)
        except Exception as exc:  # noqa: BLE001 - whatever breaks, the annotator is told and the app goes on
            self.failed.emit(f"{type(exc).__name__}: {exc}", False)
        else:
            self.finished.emit(result)
