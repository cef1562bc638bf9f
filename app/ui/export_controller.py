"""Export from the window: the dialog, the export thread, and the result in the dialog and the status bar.

The target is checked before the thread starts (`check_export_target`, the same check the export itself makes),
and one that exists already is replaced only when the annotator agrees.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from app.annotate import AnnotationSession
from app.coco.errors import CocoError
from app.coco.export_job import ExportResult
from app.coco.export_target import check_export_target
from app.store import StoreError
from app.ui.export_dialog import ExportDialog
from app.ui.export_worker import ExportJob, ExportWorker
from app.ui.notices import Notices


class ExportController(QObject):
    """Owns the export thread. Each export ends with `ended(message)`; `message` names what was written."""

    ended = Signal(str)
    _run_job = Signal(object)

    def __init__(self, notices: Notices, parent: QWidget) -> None:
        super().__init__(parent)
        self.notices = notices
        self.running = False
        self.session: AnnotationSession | None = None
        self.dialog = ExportDialog(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("export")
        self.worker = ExportWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._run_job.connect(self.worker.run)
        self.worker.progress.connect(self.dialog.show_progress)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self._thread.start()
        self.dialog.export_requested.connect(self._start)
        self.dialog.cancel_requested.connect(self.cancel)
        self._job: ExportJob | None = None

    def bind(self, session: AnnotationSession | None) -> None:
        """The project to export from now on (None: no project)."""
        self.session = session
        if session is None and not self.running:
            self.dialog.hide()

    def open(self, fmt: str) -> None:
        """File > Export: show the dialog with format `fmt` chosen."""
        if self.session is None:
            self.notices.info("Open a project first: File > Open folder")
            return
        if not self.running:
            project = self.session.project
            counts = project.instances.counts_per_image()
            self.dialog.prepare(project.folder, fmt, f"Exports the {sum(counts.values())} accepted instance(s) on "
                                                     f"{len(project.images.list())} image(s) of {project.folder}; "
                                                     "masks not yet accepted are left out.")
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def cancel(self) -> None:
        """Stop the running export before its next image."""
        if self.running:
            self.worker.cancel()
            self.dialog.show_result("Cancelling…")

    def shutdown(self) -> None:
        """Cancel an export and stop the export thread."""
        self.worker.cancel()
        self._thread.quit()
        self._thread.wait()

    @Slot(str, object)
    def _start(self, fmt: str, out) -> None:
        if self.session is None or self.running:
            return
        project = self.session.project
        try:
            target = check_export_target(project, out, png=fmt == "png")
        except (CocoError, StoreError, OSError) as exc:
            self.dialog.show_result(f"Not exported: {exc}")
            return
        if not self._may_replace(target):
            return
        self.running, self._job = True, ExportJob(project.folder, target, fmt)
        self.dialog.set_running(True)
        self.dialog.show_result("Checking the image files…")
        self._run_job.emit(self._job)

    def _may_replace(self, target) -> bool:
        """True when `target` does not exist yet (or is an empty folder), or the annotator agrees to replace it."""
        if not target.exists() or (target.is_dir() and not any(target.iterdir())):
            return True
        what = ("The folder {} is not empty: masks of the same names in it are replaced, other files stay."
                if target.is_dir() else "{} exists already.").format(target)
        answer = QMessageBox.question(self.dialog, "Replace?", f"{what}\n\nExport there anyway?")
        return answer == QMessageBox.StandardButton.Yes

    @Slot(object)
    def _finished(self, result: ExportResult) -> None:
        self.running = False
        self.dialog.set_running(False)
        summary = result.summary[0].upper() + result.summary[1:]
        self.dialog.show_result("\n\n".join([summary, *result.notes]))   # the notes stay readable there
        self.notices.info(summary + (f" ({len(result.notes)} note(s) in the Export window)" if result.notes else ""))
        self.ended.emit(summary)

    @Slot(str, bool)
    def _failed(self, message: str, cancelled: bool) -> None:
        self.running = False
        self.dialog.set_running(False)
        if not cancelled:
            text = f"Export failed: {message}"
        elif self._job.fmt == "png":
            text = f"Export cancelled; {self._job.out} keeps the masks written so far, under a legend marked incomplete."
        else:
            text = f"Export cancelled; {self._job.out} was not written."
        self.dialog.show_result(text)
        if cancelled:
            self.notices.info(text)
        else:
            self.notices.error(message, "Export failed")
        self.ended.emit(text)
