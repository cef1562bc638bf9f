"""The annotator window: composes the canvas, the docks, the model controller and the actions.

Each part owns one concern: CanvasController (what the canvas shows and its gestures), ImageDock,
LabelDock, InstanceDock (lists), ModelController (worker threads and their status). The window only
opens projects, wires the parts to the session, and keeps window geometry.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QInputDialog, QMainWindow, QMessageBox, QVBoxLayout,
                               QWidget)

from app.annotate import AnnotationSession, prepare_demo_project
from app.annotate.model_choice import ModelChoice, ModelLoad, load_model
from app.annotate.project_opening import open_for_annotation
from app.device import PRECISIONS
from app.store import ProjectLockedError, StoreError
from app.store.target import is_database_url
from app.ui.app_paths import AppPaths
from app.ui.canvas_controller import CanvasController
from app.ui.canvas_view import CanvasView
from app.ui.export_controller import ExportController
from app.ui.help_dialog import HelpDialog
from app.ui.image_dock import ImageDock
from app.ui.instance_dock import InstanceDock
from app.ui.keymap import Keymap, load_keymap
from app.ui.label_dock import LabelDock
from app.ui.last_images import LastImages
from app.ui.model_controller import ModelController
from app.ui.model_menu import RegisteredModelMenu
from app.ui.notices import Notices
from app.ui.precision_setting import PrecisionSetting
from app.ui.proposal_controller import ProposalController
from app.ui.proposal_status import ProposalStatus
from app.ui.proposal_view import ProposalView
from app.ui.status_fields import StatusFields
from app.ui.training_controller import TrainingController
from app.ui.training_dock import TrainingDock
from app.ui.window_actions import build_actions

TITLE = "MoPEFT Annotator"
LAYOUT_VERSION = 1
CLAIM_RENEW_MS = 60_000
"""How often a shared project's claim is renewed and the other annotators' claims read again."""
"""Version of the saved dock layout; a layout saved under another one is not restored. 1: layouts saved before
the Advanced panel gave its height back, which kept the canvas small on every start, are dropped once."""


class MainWindow(QMainWindow):
    """The window. `model_loader` runs in the model worker thread and returns the SAM to use."""

    changed_elsewhere = Signal(str, object)   # ("image", id) or ("adapters", None) another client changed; any thread

    def __init__(self, paths: AppPaths, model_loader: Callable[[], ModelLoad], keymap: Keymap | None = None,
                 device: str | None = None, precision: str | None = None) -> None:
        super().__init__()
        self.paths, self.device = paths, device
        self.precision_setting = PrecisionSetting(paths.precision_setting)
        self.precision = precision or self.precision_setting.value  # None: $MOPEFT_PRECISION, else auto
        self.follow_links = False   # scan what symbolic links point to outside the project folder (--follow-links)
        self.session: AnnotationSession | None = None
        self.notices = Notices(self)
        self.keymap = keymap or load_keymap(paths.config_dir)
        self.last_images = LastImages(paths.last_images)
        self.canvas = CanvasView(self)
        self.setCentralWidget(self._central())
        self.canvas_controller = CanvasController(self.canvas)
        self.proposal_view = ProposalView(self.canvas)
        self.image_dock = ImageDock(self)
        self.label_dock = LabelDock(self.notices.error, self)
        self.instance_dock = InstanceDock(self)
        self.status = StatusFields(self.statusBar())
        self.model = ModelController(paths.embeddings_dir, self, precision=self.precision)
        self.training_dock = TrainingDock(self)
        self.training = TrainingController(self.training_dock, self.model, self.notices, self)
        self.export = ExportController(self.notices, self)
        self._settings = QSettings(str(paths.window_settings), QSettings.Format.IniFormat)
        self.proposal_status = ProposalStatus(self)
        self.statusBar().insertPermanentWidget(0, self.proposal_status)
        self.proposing = ProposalController(self.model, self.proposal_view, self.proposal_status, self.notices,
                                            self._settings, self)
        self.actions, self.menus = build_actions(self, self.keymap)
        model_menu = self.menus["&Model"]   # after "Load a SAM checkpoint…"
        model_menu.insertMenu(model_menu.actions()[1],
                              RegisteredModelMenu(self.use_model, lambda text: self.notices.error(text, "Model"),
                                                  model_menu))
        self.proposing.use_actions(self.actions)
        self.label_dock.name_actions([self.actions[f"label_{n}"] for n in range(1, 10)])
        self.add_dock(self.image_dock, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_dock(self.label_dock, Qt.DockWidgetArea.RightDockWidgetArea)
        self.add_dock(self.instance_dock, Qt.DockWidgetArea.RightDockWidgetArea)
        self.add_dock(self.training_dock, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._requests: weakref.WeakSet = weakref.WeakSet()
        self.claim_timer = QTimer(self, interval=CLAIM_RENEW_MS, timeout=self._renew_claims)
        self._listener = None   # other clients' changes to a shared project (app.store.pg_changes)
        self.changed_elsewhere.connect(self._changed_elsewhere)
        self._wire()
        self.resize(1400, 900)
        self.resizeDocks([self.image_dock, self.label_dock], [300, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.training_dock], [260], Qt.Orientation.Vertical)
        self.restoreGeometry(self._settings.value("geometry", b""))
        self.restoreState(self._settings.value("state", b""), LAYOUT_VERSION)
        self.setWindowTitle(TITLE)
        self._bind(None)
        if self.last_images.problem:
            self.notices.error(self.last_images.problem, "Last images")
        if self.precision_setting.problem:
            self.notices.error(self.precision_setting.problem, "Precision")
        self._check_precision()
        if self.keymap.problems:
            self.notices.error("Some shortcuts could not be used; their defaults are kept:\n\n"
                               + "\n".join(self.keymap.problems), "Shortcuts")
        self.model.load_model(model_loader)

    def add_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea) -> None:
        """Add a dock and its show/hide entry in the View menu."""
        self.addDockWidget(area, dock)
        self.menus["&View"].addAction(dock.toggleViewAction())

    # Projects ---------------------------------------------------------------------------------------
    def open_project(self, folder: str | Path, images_root: str | Path | None = None) -> bool:
        """Open (or create) the project of a folder, or a shared one by its PostgreSQL URL (`images_root`: where
        its images are, for a new one), and show its first image not done; False on failure."""
        shared = is_database_url(str(folder))
        folder = str(folder) if shared else Path(folder).expanduser().resolve()
        if self.session is not None and (self.session.project.location if shared
                                         else self.session.project.folder) == folder:
            return True
        if not self._may_drop_drafts("Open another project"):
            return False
        try:
            opened = open_for_annotation(folder, self.follow_links,
                                         Path(images_root).expanduser() if images_root else None)
        except ProjectLockedError as exc:
            self.notices.error(str(exc), "Project already open")
            return False
        except (StoreError, OSError) as exc:
            self.notices.error(f"Could not open the project in {folder}:\n{exc}")
            return False
        self.close_project()
        self._bind(AnnotationSession(opened.project))
        for note in opened.notes:
            self.notices.info(note)
        for problem in opened.problems:
            self.notices.error(problem, "Project")
        if opened.left_out:
            self.notices.error("These files were left out of the project:\n\n"
                               + "\n".join(f"{path}: {reason}" for path, reason in opened.left_out),
                               "Unreadable files")
        if self.session.start_image(self.last_images.get(opened.project.folder)) is None:
            self.notices.info(f"{opened.project.folder} holds no image yet (PNG, JPEG, BMP or TIFF)")
        return True

    def open_demo(self) -> bool:
        """Open the demo project (made in the user data folder on first use)."""
        try:
            folder = prepare_demo_project(self.paths.data_dir)
        except (OSError, StoreError) as exc:
            self.notices.error(f"Could not prepare the demo project in {self.paths.data_dir}:\n{exc}")
            return False
        return self.open_project(folder)

    def close_project(self) -> None:
        """Close the current project (everything accepted is already in its store)."""
        if self.session is not None:
            project = self.session.project
            self.session.claims.release()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._bind(None)
            project.close()

    def choose_shared_project(self) -> None:
        """File > Open shared project: a PostgreSQL URL (no password in it: libpq's pgpass or service file)."""
        url, ok = QInputDialog.getText(self, "Open a shared project", "PostgreSQL URL of the project "
                                       "(postgresql://USER@HOST/DATABASE; the password goes in ~/.pgpass):")
        if ok and url.strip():
            self.open_project(url.strip())

    def choose_folder(self) -> None:
        """File > Open folder."""
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_project(folder)

    def choose_checkpoint(self) -> None:
        """Model > Load a SAM checkpoint."""
        path, _ = QFileDialog.getOpenFileName(self, "Load a SAM checkpoint", "", "Checkpoints (*.pth *.pt);;All (*)")
        if path:
            self.model.load_model(partial(load_model, ModelChoice(checkpoint=path, device=self.device)))

    def use_model(self, name: str) -> None:
        """Model > Registered model: run the registered model `name` (SAM 1 or SAM 2.1)."""
        self.model.load_model(partial(load_model, ModelChoice(model=name, device=self.device)))

    def use_precision(self, precision: str) -> None:
        """Model > Precision: run SAM's encoder at `precision` from now on (the current image is embedded again)
        and keep the choice for the next start."""
        self.precision = precision
        self._check_precision()
        self.model.use_precision(precision)
        problem = self.precision_setting.save(precision)
        if problem:
            self.notices.error(problem, "Precision")

    def _check_precision(self) -> None:
        """Tick the Model > Precision entry in use (automatic when none was chosen)."""
        for name in PRECISIONS:
            self.actions[f"precision_{name}"].setChecked(name == (self.precision or "auto"))

    def show_help(self) -> None:
        """Help > Keyboard shortcuts."""
        HelpDialog(self.keymap.keys, self.keymap.path, self).open()

    # Closing ----------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if not self._may_drop_drafts("Quit"):
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def _may_drop_drafts(self, doing: str) -> bool:
        """True when no image has an unaccepted mask, or the annotator agrees to drop them."""
        drafts = self.session.unaccepted_drafts() if self.session is not None else []
        if not drafts:
            return True
        names = "\n".join(image.path for image in drafts[:10])
        answer = QMessageBox.question(self, "Unaccepted masks", "These images have a mask that was not "
                                      f"accepted:\n\n{names}\n\n{doing} and drop them?")
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        """Save the window layout (Advanced folded: a later start gets the canvas its height), close the project
        and stop the worker threads."""
        self.training_dock.form.toggle.setChecked(False)
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("state", self.saveState(LAYOUT_VERSION))
        self._settings.sync()
        self.close_project()
        self.training.shutdown()
        self.export.shutdown()
        self.proposing.shutdown()
        self.model.shutdown()

    # Wiring -----------------------------------------------------------------------------------------
    def _central(self) -> QWidget:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notices.bar)
        layout.addWidget(self.canvas, 1)
        return central

    def _wire(self) -> None:
        model = self.model
        model.model_ready.connect(self._model_ready)
        model.adapter_changed.connect(self._engine_changed)
        model.adapter_failed.connect(lambda message: self.notices.error(message, "Adapter not used"))
        model.image_loaded.connect(self.canvas_controller.show_pixels)
        model.embedded.connect(self._embedded)
        model.image_failed.connect(self._image_failed)
        model.image_changed.connect(self._image_changed)
        model.predicted.connect(self._predicted)
        model.error.connect(self.notices.error)
        model.embedding_state.connect(self.status.set_embedding)
        model.prefetch_state.connect(self.status.set_prefetch)
        self.canvas.looked_at.connect(model.look_at)
        self.image_dock.image_chosen.connect(lambda image_id: self.session and self.session.open_image(image_id))
        self.canvas_controller.pixels_shown.connect(self.proposal_view.show)
        self.proposal_view.hover_text.connect(lambda text: text and self.statusBar().showMessage(text, 6000))
        self.proposal_view.note.connect(self.notices.info)
        self.canvas_controller.tool_changed.connect(self.status.set_tool)
        self.canvas_controller.view_changed.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.status.set_tool("Tool: prompts")

    def _bind(self, session: AnnotationSession | None) -> None:
        self.session = session
        self._requests = weakref.WeakSet()
        for part in (self.canvas_controller, self.proposal_view, self.image_dock, self.label_dock, self.instance_dock,
                     self.training, self.export, self.proposing):
            part.bind(session)
        if session is None:
            self.setWindowTitle(TITLE)
            self.status.set_position("No project: File > Open folder")
        else:
            self.setWindowTitle(f"{TITLE} — {session.project.folder}"   # which copy of a folder name this is
                                + (" (read-only)" if session.project.readonly else ""))
            session.image_opened.connect(self._image_opened)
            session.predict_requested.connect(self._ask)
            session.history_changed.connect(self._history_changed)
            session.message.connect(self.notices.info)
            session.error.connect(self.notices.error)
        if session is not None and session.claims.used:
            self.claim_timer.start()
            self._listener = session.project.listen_changes(self.changed_elsewhere.emit)   # another thread
        else:
            self.claim_timer.stop()
        self._history_changed()

    def _changed_elsewhere(self, what: str, image_id: int | None) -> None:
        if self.session is None:
            return
        if what == "adapters":
            self.training.adapters_changed_elsewhere()
        else:
            self.session.changed_elsewhere(image_id)

    def _renew_claims(self) -> None:
        """Keep this annotator's claim, and show who works where now."""
        if self.session is not None:
            self.session.renew_claims()
            self.image_dock.refresh()

    def _image_opened(self, image) -> None:
        images = self.session.images()
        index = next(i for i, other in enumerate(images) if other.id == image.id)
        ahead = [(self.session.project.path_of(i.path), i.height, i.width)
                 for i in images[index + 1:] + images[:index]]
        self.status.set_position(f"Image {index + 1} of {len(images)}")
        unsaved = self.last_images.remember(self.session.project.folder, image.path)
        if unsaved:
            self.notices.error(unsaved, "Last images")
        record = self.session.project.images.get(image.id)  # as stored now: a kept change updates its hash
        self.model.show_image(image.id, self.session.project.path_of(image.path), ahead, record)
        self.actions["keep_changed_image"].setEnabled(image.id in self.image_dock.changed)

    def _image_failed(self, image_id: int, message: str) -> None:
        self.image_dock.mark_unreadable(image_id, message)
        self.canvas_controller.show_unreadable(image_id, message)
        self.notices.error(f"Cannot read this image; the other images still work.\n\n{message}", "Unreadable image")

    def _image_changed(self, image_id: int, message: str) -> None:
        self.image_dock.mark_changed(image_id, message)
        self.actions["keep_changed_image"].setEnabled(self.session is not None and self.session.image is not None
                                                      and self.session.image.id == image_id)
        self.notices.error(message, "Image changed on disk")

    def keep_changed_image(self) -> None:
        """Image > Keep the instances on the changed file: record the current file's content as the image's."""
        image = self.session.image if self.session is not None else None
        if image is None or image.id not in self.image_dock.changed:
            return
        try:
            self.session.project.images.accept_change(image.id)
        except (StoreError, OSError) as exc:
            self.notices.error(f"Could not keep the instances: {exc}")
            return
        self.image_dock.mark_changed(image.id, None)
        self.actions["keep_changed_image"].setEnabled(False)
        self.notices.info(f"{image.path}: its instances are kept on the changed file")

    def _embedded(self, image_id: int) -> None:
        self._show_model()
        if self.session is not None and self.session.image is not None and self.session.image.id == image_id:
            self.session.ask_again()

    def _ask(self, request) -> None:
        self._requests.add(request)
        self.model.predict(request)

    def _predicted(self, request, prediction) -> None:
        if self.session is not None and request in self._requests:
            self.session.prediction_ready(request, prediction)

    def _model_ready(self, model: ModelLoad) -> None:
        self._engine_changed()
        for error in model.errors:
            self.notices.error(error, "Checkpoint not loaded")

    def _engine_changed(self, _adapter=None) -> None:
        """Another model or adapter version runs SAM: the draft is asked again once the image is embedded with it."""
        self._show_model()
        if self.session is not None:
            self.session.model_changed()

    def _show_model(self) -> None:
        """Model, adapter version in use and device in the status bar."""
        model = self.model.model
        if model is None:
            return
        loaded = model.loaded
        where = f"{loaded.path}" if loaded.path is not None else "random weights"
        adapter = self.model.adapter
        version = ""
        if adapter is not None and self.session is not None:
            versions = self.session.project.adapters.list()
            number = next((n for n, v in enumerate(versions, 1) if self.session.project.path_of(v.path) == Path(adapter)),
                          None)
            version = f" + adapter v{number}" if number else " + adapter"
        if self.model.embedding_stale:   # the current image is not embedded with this version yet
            version += " (embedding…)"
        engine = self.model.engine
        precision = f" · {engine.precision}" if engine is not None else ""
        reason = f"\nPrecision: {engine.precision_choice.reason}" if engine is not None else ""
        self.status.set_model(f"SAM {model.name}{version} · {loaded.sam.device.type}{precision}",
                              f"{loaded.arch} from {where}\nAdapter: {adapter or 'none'}\nDevice: {model.device_reason}"
                              f"{reason}",
                              "; ".join(model.warnings) or None)

    def _history_changed(self) -> None:
        history = self.session.history if self.session is not None else None
        for name, text in (("undo", history.undo_text if history else None),
                           ("redo", history.redo_text if history else None)):
            self.actions[name].setEnabled(text is not None)
            self.actions[name].setText(f"{name.capitalize()} {text}" if text else name.capitalize())
