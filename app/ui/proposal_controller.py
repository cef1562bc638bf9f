"""Proposals from the window: "Propose instances" on the current image and on every image without instances, in
the proposals thread with progress and cancel in the status bar; the decisions on all of an image's proposals
(accept those scoring at least the threshold, reject all) and the threshold itself, kept in the window settings.

The decisions on the proposal under the cursor are the canvas's (`ProposalView`); the session makes and records
every decision. Which images, and how each is proposed on and stored, is app.services.proposing's.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, QThread, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QWidget

from app.annotate import AnnotationSession
from app.app_env import sam_threads
from app.services.proposing import (AutoParams, BatchDone, ImageProposed, ImageSkipped, ProposingSummary,
                                    choose_images, version_of)
from app.store import Image
from app.ui.model_controller import ModelController
from app.ui.notices import Notices
from app.ui.proposal_settings import ProposalSettingsDialog, keep_params, saved_params
from app.ui.proposal_status import ProposalStatus
from app.ui.proposal_view import ProposalView
from app.ui.proposal_worker import ProposalJob, ProposalWorker

DEFAULT_THRESHOLD = 0.9
"""Predicted IoU from which "Accept all proposals above the threshold" accepts, until the annotator changes it."""
THRESHOLD_KEY = "proposals/threshold"


class ProposalController(QObject):
    """Owns the proposals thread. Each run ends with `ended(message)`. `params` are the automatic segmentation's
    parameters for the next run (None: those kept for the model in use, `proposal_settings`)."""

    ended = Signal(str)
    _run_job = Signal(object)

    def __init__(self, model: ModelController, view: ProposalView, status: ProposalStatus, notices: Notices,
                 settings: QSettings, parent: QWidget) -> None:
        super().__init__(parent)
        self.model, self.view, self.status, self.notices, self._settings = model, view, status, notices, settings
        self.params: AutoParams | None = None
        self.dialog: ProposalSettingsDialog | None = None
        self.session: AnnotationSession | None = None
        self._job: ProposalJob | None = None
        self._actions: dict[str, QAction] = {}
        self._thread = QThread(self)
        self._thread.setObjectName("proposals")
        self.worker = ProposalWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._run_job.connect(self.worker.run)
        self.worker.progress.connect(self._progress)
        self.worker.proposed.connect(self._proposed)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self._thread.start()
        status.cancel_requested.connect(self.cancel)

    @property
    def running(self) -> bool:
        """True while a run is going on."""
        return self._job is not None

    @property
    def threshold(self) -> float:
        """The predicted IoU from which "accept all above the threshold" accepts."""
        try:
            value = float(self._settings.value(THRESHOLD_KEY, DEFAULT_THRESHOLD))
        except (TypeError, ValueError):
            return DEFAULT_THRESHOLD
        return value if 0 <= value <= 1 else DEFAULT_THRESHOLD

    def use_actions(self, actions: dict[str, QAction]) -> None:
        """The window's actions: their texts show the threshold, Cancel is enabled while a run goes on."""
        self._actions = actions
        self._show_state()

    def bind(self, session: AnnotationSession | None) -> None:
        """Propose on this session's project from now on (None: none); a run on the previous one is cancelled."""
        if self.running:
            self.worker.cancel()
        self.session = session

    def propose_image(self) -> None:
        """Propose instances on the current image (its pending proposals are replaced, so not while the draft is
        made from one of them)."""
        if not self._can_start() or self.session.image is None:
            return
        if self.session.draft.proposal is not None:
            self.notices.info("The draft is made from a proposal: accept it (Enter) or clear it (Esc) first")
            return
        self._start([self.session.image], f"Proposing on {self.session.image.path}…")

    def propose_all(self) -> None:
        """Propose on every image without instances that has no proposals of the adapter version in use yet."""
        if not self._can_start():
            return
        images = choose_images(self.session.project, "unlabelled", skip_proposed=True)
        if not images:
            self.notices.info("Every image has instances or proposals of the model in use; P proposes again on one")
            return
        self._start(images, f"Proposing on {len(images)} image(s) without instances…")

    def cancel(self) -> None:
        """Stop the run before its next batch of points; the images done keep their new proposals."""
        if self.running:
            self.worker.cancel()
            self.status.cancelling()

    def accept_above(self) -> None:
        """Accept every pending proposal of the current image scoring at least the threshold (one undo step)."""
        if self.session is not None:
            made = self.session.accept_proposals(self.threshold)
            if made:
                self.notices.info(f"Accepted {len(made)} proposal(s) with a predicted IoU of at least "
                                  f"{self.threshold:.2f}")

    def reject_all(self) -> None:
        """Turn down every pending proposal of the current image (one undo step)."""
        if self.session is not None:
            self.session.reject_proposals()

    def choose_threshold(self) -> None:
        """Ask for the threshold of "accept all above the threshold" and keep it."""
        value, ok = QInputDialog.getDouble(self.parent(), "Proposal score threshold",
                                           "Accept all proposals whose predicted IoU is at least:", self.threshold,
                                           0.0, 1.0, 2, 0.05)
        if ok:
            self.set_threshold(value)

    def choose_params(self) -> None:
        """Show the proposal settings of the model in use; OK keeps them for that model from the next run on."""
        if self.model.model is None:
            self.notices.info("Wait for the model to load: the settings are the model's")
            return
        arch = self.model.model.loaded.arch
        self.dialog = ProposalSettingsDialog(arch, self.params or saved_params(self._settings, arch), self.parent())
        self.dialog.accepted.connect(lambda: self.set_params(arch, self.dialog.params()))
        self.dialog.open()

    def set_params(self, arch: str, params: AutoParams) -> None:
        """Propose with `params` whenever a model of `arch` is in use, from the next run on."""
        keep_params(self._settings, arch, params)
        self.params = None
        self.notices.info(f"Proposals on the {arch} model: {params.points_per_side}² points, predicted IoU above "
                          f"{params.pred_iou_thresh:.2f}, stability at least {params.stability_score_thresh:.2f}")

    def set_threshold(self, value: float) -> None:
        """Use this threshold (0 to 1) from now on, and keep it for the next start."""
        self._settings.setValue(THRESHOLD_KEY, round(float(min(1.0, max(0.0, value))), 2))
        self._show_state()
        self.notices.info(f"Proposals scoring at least {self.threshold:.2f} are accepted all at once")

    def shutdown(self) -> None:
        """Cancel a run and stop the proposals thread (waits for the batch in progress to end)."""
        self.worker.cancel()
        self._thread.quit()
        self._thread.wait()

    def _can_start(self) -> bool:
        problem = None
        if self.session is None:
            problem = "Open a project first: File > Open folder"
        elif self.session.project.readonly:
            problem = "Read-only: proposals cannot be stored in this project"
        elif self.model.engine is None or self.model.model is None:
            problem = "Wait for the model to load"
        elif self.running:
            problem = "Proposing is running already (Proposals > Cancel proposing stops it)"
        if problem:
            self.notices.info(problem)
        return problem is None

    def _start(self, images: list[Image], text: str) -> None:
        project, loaded = self.session.project, self.model.model
        params = self.params or saved_params(self._settings, loaded.loaded.arch)
        self._job = ProposalJob(project, self.model.engine, loaded.name, version_of(project, self.model.adapter),
                                images, params, sam_threads())
        self.status.show_progress(text, 0, len(images) if len(images) > 1 else 0)
        self._show_state()
        self._run_job.emit(self._job)

    def _mine(self) -> bool:
        """True when the running job is on the project open now."""
        return self.session is not None and self._job is not None and self._job.project is self.session.project

    @Slot(object)
    def _progress(self, event: BatchDone | ImageSkipped) -> None:
        if isinstance(event, ImageSkipped):
            self.notices.error(f"{event.image.path}: skipped, {event.reason}", "Proposals")
        elif event.total > 1:
            self.status.show_progress(f"Proposing: image {event.n} of {event.total} ({event.image.path})",
                                      event.n - 1, event.total)
        else:
            self.status.show_progress(f"Proposing on {event.image.path}…", event.done, event.batches)

    @Slot(object, object)
    def _proposed(self, event: ImageProposed, outlines: dict) -> None:
        if self._mine():
            self.view.add_outlines(outlines)
            self.session.proposals_replaced(event.image.id)

    @Slot(object)
    def _finished(self, summary: ProposingSummary) -> None:
        skipped = f"; {len(summary.skipped)} skipped" if summary.skipped else ""
        self._end(f"{summary.proposals} proposal(s) on {summary.images} image(s) in {summary.seconds:.1f} s"
                  f"{skipped}", error=False)

    @Slot(str, bool)
    def _failed(self, message: str, cancelled: bool) -> None:
        self._end(f"Proposing {message}" if cancelled else f"Proposing stopped: {message}", error=not cancelled)

    def _end(self, message: str, error: bool) -> None:
        mine = self._mine()
        self._job = None
        self.status.hide()
        self._show_state()
        if not mine:
            return
        if error:
            self.notices.error(message, "Proposals")
        else:
            self.notices.info(message)
        self.ended.emit(message)

    def _show_state(self) -> None:
        """The threshold in the actions' texts, Cancel enabled while a run goes on."""
        if not self._actions:
            return
        self._actions["accept_proposals_above"].setText(f"Accept all proposals scoring at least {self.threshold:.2f}")
        self._actions["proposal_threshold"].setText(f"Score threshold for accepting all ({self.threshold:.2f})…")
        self._actions["cancel_proposals"].setEnabled(self.running)
