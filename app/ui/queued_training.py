"""Fine-tuning from the window on a shared project: the run is queued for a worker (`mopeft worker` on a GPU
machine), and the dock follows the job: its steps, loss and gates as the worker reports them, then the new version,
used when the worker made it active. The job is read from the database every second; nothing trains here."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.annotate import AnnotationSession
from app.services.jobs import fine_tune_request, progress_step
from app.services.model_session import usable_adapter
from app.store import StoreError
from app.training.finetune.settings import TrainSettings
from app.ui.model_controller import ModelController
from app.ui.notices import Notices
from app.ui.training_dock import TrainingDock

POLL_MS = 1000


class QueuedTraining(QObject):
    """The job this window queued, followed until it ends (`ended(message)`)."""

    ended = Signal(str)

    def __init__(self, dock: TrainingDock, model: ModelController, notices: Notices, parent=None) -> None:
        super().__init__(parent)
        self.dock, self.model, self.notices = dock, model, notices
        self.session: AnnotationSession | None = None
        self.job_id: int | None = None
        self._step = 0
        self.timer = QTimer(self, interval=POLL_MS, timeout=self._poll)

    @property
    def running(self) -> bool:
        """True while a queued job is followed."""
        return self.job_id is not None

    def start(self, session: AnnotationSession, model_name: str, settings: TrainSettings, skip_unedited: bool) -> None:
        """Queue a fine-tuning of `model_name` with `settings` and follow it."""
        project = session.project
        try:
            job = project.jobs.queue(fine_tune_request(model_name, settings, skip_unedited), session.claims.annotator)
        except StoreError as exc:
            self.notices.error(f"Could not queue the fine-tuning: {exc}")
            return
        self.session, self.job_id, self._step = session, job.id, 0
        self.dock.begin(settings.steps)
        self.dock.show()
        self.dock.phase.setText(f"Queued as job {job.id}: waiting for a worker (`mopeft worker --project "
                                f"{project.location}` on a GPU machine)")
        self.timer.start()

    def cancel(self) -> None:
        """Ask the worker to stop the job between steps (a job not started yet is dropped at once)."""
        if self.running:
            try:
                self.session.project.jobs.request_cancel(self.job_id)
                self.dock.phase.setText("Cancelling…")
            except StoreError as exc:
                self.notices.error(f"Could not cancel job {self.job_id}: {exc}")

    def forget(self) -> None:
        """Stop following the job (its project is being closed); the worker goes on with it."""
        self.timer.stop()
        self.job_id = self.session = None

    def _poll(self) -> None:
        try:
            job = self.session.project.jobs.get(self.job_id)
        except StoreError:
            return   # the server is away for a moment: read again at the next tick
        if job.progress and job.progress["step"] > self._step:   # also the last step of a job that just ended
            self._step = job.progress["step"]
            self.dock.show_event(progress_step(job.progress))
            self.dock.phase.setText(f"Job {job.id} on {job.worker}: step {self._step} of {job.progress['steps']}")
        if job.state in ("queued", "running"):
            return
        session = self.session
        self.forget()
        if job.state == "finished":
            self.dock.versions.show_versions(session.project.adapters.list())
            result = job.result
            if result["activated"]:
                path, problem = usable_adapter(session.project)
                if problem:
                    self.notices.error(problem, "Adapter not used")
                self.model.use_adapter(path)
            message = (f"Job {job.id} done on {job.worker}: v{result['number']} "
                       + ("is now in use." if result["activated"] else f"is offered ({result['reason']})."))
        elif job.state == "cancelled":
            message = f"Job {job.id} cancelled; the adapter in use is unchanged."
        else:
            message = (f"Job {job.id} failed on {job.worker or 'no worker'}: {job.error}; the adapter in use is "
                       "unchanged.")
            self.notices.error(message, "Fine-tuning")
        self.dock.end(message)
        self.ended.emit(message)
