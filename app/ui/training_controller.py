"""Fine-tuning from the window: starts runs in the training thread, records their outcome in the project, and
switches SAM to the new adapter version (or to any earlier one, or back to the base model).

The project is written only here, in the GUI thread: the run's start, its end, the new version. A run that
fails or is cancelled leaves the active adapter as it was.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from contextlib import nullcontext

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.annotate import AnnotationSession
from app.app_env import training_threads
from app.services.model_session import usable_adapter, use_version
from app.services.training_run import FineTuneRun, cannot_train
from app.store import Project, StoreError
from app.training.finetune.activation import Activation
from app.training.finetune.run import TrainingOutcome, images_text
from app.ui.adapter_list import metrics_text
from app.ui.model_controller import ModelController
from app.ui.notices import Notices
from app.ui.queued_training import QueuedTraining
from app.ui.training_dock import TrainingDock
from app.ui.training_worker import TrainingJob, TrainingWorker


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _capital(name: str) -> str:
    """'The base model' at the start of a sentence; version names ('v2') stay as they are."""
    return name[:1].upper() + name[1:] if name.startswith("the ") else name


def summary_text(outcome: TrainingOutcome, number: int, activation: Activation, in_use: str) -> str:
    """The dock's words on a finished run that became version `number`: whether it is used (`activation`) or
    `in_use` (the name of the model in use, e.g. "v2") stays, with the scores and the images they are from.
    Short enough for a few lines of the dock: the steps and the full paths are in the versions table."""
    if outcome.after:
        before, after = outcome.before, outcome.after
        names = [PurePosixPath(name).name for name in outcome.validation_names]
        scores = (f"1-click mIoU {metrics_text({'before': before, 'after': after})}, NoC@85 "
                  f"{before['noc85']:.2f} → {after['noc85']:.2f} (in use → v{number}) on {images_text(names)}")
        if activation.activate:
            lines = [f"v{number} is now in use: {scores}."]
        else:
            lines = [f"v{number} is not used, it scored worse than the model in use: {scores}. {_capital(in_use)} "
                     f"stays in use; to use v{number} anyway, press \"Use this version\"."]
        if outcome.kept_step is not None:
            lines.append(f"Kept the weights of step {outcome.kept_step}, which scored best on the held-out images.")
    else:
        lines = [f"v{number} is now in use ({outcome.steps} steps in {_duration(outcome.seconds)})."
                 if activation.activate else f"v{number} {activation.reason}: {in_use} stays in use."]
    return "\n".join(lines + outcome.warnings)


class TrainingController(QObject):
    """Owns the training thread. Each run ends with `ended(message)`, after `finished(outcome)` when it succeeded."""

    finished = Signal(object)
    ended = Signal(str)
    _run_job = Signal(object)

    def __init__(self, dock: TrainingDock, model: ModelController, notices: Notices, parent=None) -> None:
        super().__init__(parent)
        self.dock, self.model, self.notices = dock, model, notices
        self.session: AnnotationSession | None = None
        self._job: TrainingJob | None = None
        self._thread = QThread(self)
        self._thread.setObjectName("training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._run_job.connect(self.worker.run)
        self.worker.event.connect(dock.show_event)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self._thread.start()
        self.queued = QueuedTraining(dock, model, notices, self)   # a shared project's runs go to a worker
        self.queued.ended.connect(self.ended)
        dock.start_requested.connect(self.start)
        dock.cancel_requested.connect(self.cancel)
        dock.activate_requested.connect(self.activate)

    @property
    def running(self) -> bool:
        """True while a run is going on (here, or queued for a worker and followed)."""
        return self._job is not None or self.queued.running

    def bind(self, session: AnnotationSession | None) -> None:
        """Show this project's adapter versions and run SAM with its active one (None: no project, base model)."""
        if self.queued.running:
            self.queued.forget()
            self.dock.end("The project was closed; its queued job goes on on its worker.")
        self.session = session
        self.dock.versions.show_versions(session.project.adapters.list() if session is not None else None)
        if session is not None:
            path, problem = usable_adapter(session.project)
            if problem:
                self.notices.error(problem, "Adapter not used")
            self.model.use_adapter(path)
            session.images_changed.connect(self._count_unedited)
        self._count_unedited()

    def start(self) -> None:
        """Fine-tune on the project's accepted instances with the dock's settings."""
        if self.running:
            return
        self.dock.phase.show()  # hidden while the last result text is shown
        problem = self._cannot_start()
        if problem:
            self.dock.phase.setText(problem)
            self.notices.info(problem)
            return
        try:
            settings = self.dock.form.settings()
        except ValueError as exc:
            self.dock.phase.setText(f"Settings: {exc}")
            return
        settings.precision = self.model.precision
        loaded = self.model.model
        if self.session.project.on_server:
            self.queued.start(self.session, loaded.name, settings, self.dock.form.skip_unedited.isChecked())
            return
        try:
            run = FineTuneRun.begin(self.session.project, loaded.name, settings,
                                    self.dock.form.skip_unedited.isChecked())
        except StoreError as exc:
            self.notices.error(f"Could not record the training run: {exc}")
            return
        self._job = TrainingJob(run, loaded.loaded.sam, training_threads())
        self.dock.begin(settings.steps)
        self.dock.show()
        self.dock.phase.setText("Reading the annotated images…")
        self._run_job.emit(self._job)

    def cancel(self) -> None:
        """Stop the run before its next step; nothing of it is kept."""
        if self.queued.running:
            self.queued.cancel()
        elif self.running:
            self.worker.cancel()
            self.dock.phase.setText("Cancelling…")

    def activate(self, version_id: int | None) -> None:
        """Run SAM with this adapter version from now on (None: the base model); recorded in the project."""
        if self.session is None or self.running:
            return
        project = self.session.project
        try:
            path = use_version(project, version_id)
        except StoreError as exc:
            self.notices.error(f"Could not change the adapter in use: {exc}")
            return
        self.dock.versions.show_versions(project.adapters.list())
        self.model.use_adapter(path)
        self.notices.info("SAM now runs with " + ("the base model" if path is None else "the chosen version"))

    def adapters_changed_elsewhere(self) -> None:
        """Another client added an adapter version or made another one active (a shared project): show the versions
        and run SAM with the active one (not while a run of this window's goes on: it ends with its own choice)."""
        if self.session is None or self.running:
            return
        self.dock.versions.show_versions(self.session.project.adapters.list())
        path, problem = usable_adapter(self.session.project)
        if problem:
            self.notices.error(problem, "Adapter not used")
        if (None if path is None else str(path)) != self.model.wanted_adapter:
            self.model.use_adapter(path)
            self.notices.info("Another annotator's fine-tuning changed the adapter in use: SAM now runs with "
                              + ("the base model" if path is None else "the new version"))

    def shutdown(self) -> None:
        """Cancel a run and stop the training thread (waits for the current step to end)."""
        self.worker.cancel()
        self._thread.quit()
        self._thread.wait()

    def _cannot_start(self) -> str | None:
        if self.session is None:
            return "Open a project first."
        if self.model.model is None:
            return "Wait for the model to load."
        return cannot_train(self.session.project, self.dock.form.skip_unedited.isChecked())

    def _count_unedited(self) -> None:
        self.dock.form.show_unedited(self.session.project.instances.unedited_count() if self.session else None)

    @Slot(object)
    def _finished(self, outcome: TrainingOutcome) -> None:
        run = self._job.run
        self._job = None
        try:
            with self._project_of(run) as project:
                recorded = run.finish(project, outcome)
                versions = project.adapters.list()
        except (StoreError, OSError) as exc:
            self._end(f"Trained, but the new version could not be recorded: {exc}", error=True)
            return
        if self._is_open(run):
            self.dock.versions.show_versions(versions)
            if recorded.activation.activate:
                self.model.use_adapter(run.folder / recorded.version.path)
            else:
                self.dock.versions.select(recorded.version.id)
        number, in_use = recorded.number, recorded.in_use
        self.dock.show_result(summary_text(outcome, number, recorded.activation, in_use))
        self._end("Done." if recorded.activation.activate else f"Done; v{number} is offered, {in_use} stays in use.")
        self.finished.emit(outcome)

    @Slot(str, bool)
    def _failed(self, message: str, cancelled: bool) -> None:
        run = self._job.run
        self._job = None
        try:
            with self._project_of(run) as project:
                run.fail(project, message, cancelled)
        except (StoreError, OSError):
            pass  # the run stays "running" in the store and is marked interrupted when the project opens next
        kept = "the adapter in use is unchanged"
        if cancelled:
            self._end(f"Cancelled; {kept}.")
        else:
            self._end(f"Fine-tuning stopped: {message}; {kept}.", error=True)

    def _end(self, message: str, error: bool = False) -> None:
        self.dock.end(message)
        if error:
            self.notices.error(message, "Fine-tuning")
        self.ended.emit(message)

    def _is_open(self, run: FineTuneRun) -> bool:
        """True while the run's project is the one open in the window."""
        return self.session is not None and self.session.project.folder == run.folder

    def _project_of(self, run: FineTuneRun):
        """The open project when it is the run's, else the run's project opened for the moment."""
        return nullcontext(self.session.project) if self._is_open(run) else Project.open(run.folder)
