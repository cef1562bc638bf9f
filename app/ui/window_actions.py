"""The window's actions: one QAction per keymap entry, what each does, and the menus that list them.

They act on an `ActionTarget`: the parts of the main window (app.ui.main_window) that the actions drive.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

from app.annotate import AnnotationSession
from app.device import PRECISIONS
from app.ui.canvas_controller import CanvasController
from app.ui.canvas_view import BRUSH, ERASER, PAN_STEP, ZOOM_STEP, CanvasView
from app.ui.export_controller import ExportController
from app.ui.image_dock import ImageDock
from app.ui.instance_dock import InstanceDock
from app.ui.keymap import ACTIONS, Keymap
from app.ui.notices import Notices
from app.ui.proposal_controller import ProposalController
from app.ui.proposal_view import ProposalView
from app.ui.training_controller import TrainingController


class ActionTarget(Protocol):
    """The window as its actions see it: the parts they drive, its commands, and where actions and menus go."""

    session: AnnotationSession | None
    canvas: CanvasView
    canvas_controller: CanvasController
    instance_dock: InstanceDock
    image_dock: ImageDock
    export: ExportController
    training: TrainingController
    proposing: ProposalController
    proposal_view: ProposalView
    notices: Notices

    def choose_folder(self) -> None:
        """File > Open folder…"""

    def choose_shared_project(self) -> None:
        """File > Open shared project (PostgreSQL)…"""

    def open_demo(self) -> bool:
        """File > Open the demo project."""

    def choose_checkpoint(self) -> None:
        """Model > Load a SAM checkpoint…"""

    def use_precision(self, precision: str) -> None:
        """Run SAM at this precision ("auto", "fp32", "bf16") from now on, and keep the choice."""

    def keep_changed_image(self) -> None:
        """Image > Keep the instances on the changed file."""

    def show_help(self) -> None:
        """Help > Keyboard shortcuts."""

    def close(self) -> bool:
        """File > Quit."""

    def addAction(self, action: QAction) -> None:  # noqa: N802 - Qt's name
        """Make the action's keys work anywhere in the window."""

    def menuBar(self) -> QMenuBar:  # noqa: N802 - Qt's name
        """The window's menu bar."""

MENUS: dict[str, list[str | None]] = {
    "&File": ["open_folder", "open_shared", "open_demo", "show_project_folder", None, "export_coco", "export_png", None, "quit"],
    "&Edit": ["undo", "redo", None, "accept", "clear_prompts", "next_candidate", None,
              "delete_instance", "relabel_instance", "hide_instance"],
    "&Image": ["previous_image", "next_image", "next_without_instances", "next_uncertain", "sort_by_uncertainty",
               "mark_done", "keep_changed_image", None,
               "fit", "zoom_in", "zoom_out", "zoom_actual"],
    "&Tools": ["brush", "eraser", "brush_smaller", "brush_larger"],
    "&Labels": [f"label_{n}" for n in range(1, 10)],
    "&Model": ["load_checkpoint", None, "precision_auto", "precision_fp32", "precision_bf16", None, "fine_tune",
               "cancel_training"],
    "&Proposals": ["propose_image", "propose_all", "cancel_proposals", None, "accept_proposal",
                   "accept_proposals_above", "proposal_threshold", None, "reject_proposal", "reject_all_proposals",
                   None, "edit_proposal", None, "proposal_settings"],
    "&View": ["hide_all_instances", "masks_fainter", "masks_stronger", None],
    "&Help": ["help"],
}
"""Menus in order, None for a separator. View lists the docks after its own entries."""
CHECKABLE = {"hide_all_instances", "precision_auto", "precision_fp32", "precision_bf16", "sort_by_uncertainty"}
"""Actions that show an on/off state in their menu."""

CANVAS_ONLY = {"pan_left", "pan_right", "pan_up", "pan_down"}
"""Actions whose keys work only while the canvas has the focus, so the arrows still move through lists and fields."""

BRUSH_STEP = 1.25


def _handlers(w: ActionTarget) -> dict[str, Callable[[], object]]:
    def on_session(change: Callable) -> Callable[[], object]:
        return lambda: change(w.session) if w.session is not None else None

    return {
        "open_folder": w.choose_folder,
        "open_shared": w.choose_shared_project,
        "open_demo": w.open_demo,
        "show_project_folder": lambda: show_project_folder(w),
        "export_coco": lambda: w.export.open("coco"),
        "export_png": lambda: w.export.open("png"),
        "load_checkpoint": w.choose_checkpoint,
        **{f"precision_{p}": (lambda p=p: w.use_precision(p)) for p in PRECISIONS},
        "fine_tune": w.training.start,
        "cancel_training": w.training.cancel,
        "quit": w.close,
        "previous_image": on_session(lambda s: s.step(-1)),
        "next_image": on_session(lambda s: s.step(1)),
        "next_without_instances": on_session(lambda s: s.next_without_instances()),
        "next_uncertain": on_session(lambda s: s.next_most_uncertain()),
        "sort_by_uncertainty": w.image_dock.toggle_uncertainty_order,
        "mark_done": on_session(lambda s: s.toggle_done()),
        "keep_changed_image": w.keep_changed_image,
        "fit": w.canvas.fit,
        "zoom_in": lambda: w.canvas.zoom_by(ZOOM_STEP),
        "zoom_out": lambda: w.canvas.zoom_by(1 / ZOOM_STEP),
        "zoom_actual": w.canvas.actual_size,
        "pan_left": lambda: w.canvas.pan(-PAN_STEP, 0),
        "pan_right": lambda: w.canvas.pan(PAN_STEP, 0),
        "pan_up": lambda: w.canvas.pan(0, -PAN_STEP),
        "pan_down": lambda: w.canvas.pan(0, PAN_STEP),
        "accept": w.canvas_controller.accept,
        "clear_prompts": on_session(lambda s: s.clear_prompts()),
        "next_candidate": on_session(lambda s: s.cycle_candidate()),
        "brush": lambda: w.canvas_controller.toggle_tool(BRUSH),
        "eraser": lambda: w.canvas_controller.toggle_tool(ERASER),
        "brush_smaller": lambda: w.canvas_controller.resize_brush(1 / BRUSH_STEP),
        "brush_larger": lambda: w.canvas_controller.resize_brush(BRUSH_STEP),
        "undo": on_session(lambda s: s.undo()),
        "redo": on_session(lambda s: s.redo()),
        "delete_instance": w.instance_dock.delete_selected,
        "relabel_instance": lambda: w.instance_dock.relabel_selected(),
        "hide_instance": w.instance_dock.toggle_selected,
        "hide_all_instances": w.canvas_controller.toggle_instances,
        "masks_fainter": lambda: w.canvas_controller.step_opacity(-1),
        "masks_stronger": lambda: w.canvas_controller.step_opacity(1),
        **{f"label_{n}": on_session(lambda s, i=n - 1: s.labels.select_at(i)) for n in range(1, 10)},
        "propose_image": w.proposing.propose_image,
        "propose_all": w.proposing.propose_all,
        "cancel_proposals": w.proposing.cancel,
        "accept_proposal": w.proposal_view.accept,
        "accept_proposals_above": w.proposing.accept_above,
        "proposal_threshold": w.proposing.choose_threshold,
        "reject_proposal": w.proposal_view.reject,
        "reject_all_proposals": w.proposing.reject_all,
        "edit_proposal": w.proposal_view.edit,
        "proposal_settings": w.proposing.choose_params,
        "help": w.show_help,
    }


def show_project_folder(w: ActionTarget) -> None:
    """File > Show project folder: open it in the system's file manager."""
    if w.session is None:
        w.notices.info("No project is open")
        return
    folder = w.session.project.folder
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        w.notices.error(f"No file manager could show the folder; it is {folder}", "Show project folder")


def build_actions(window: ActionTarget, keymap: Keymap) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """Make every action with its keys from `keymap`, add them to the window (so keys work everywhere in it; the
    CANVAS_ONLY ones to the canvas) and to the menus of the menu bar; returns the actions and the menus by name."""
    handlers = _handlers(window)
    actions: dict[str, QAction] = {}
    for name, (text, _) in ACTIONS.items():
        action = QAction(text, window)
        action.setObjectName(name)
        action.setCheckable(name in CHECKABLE)
        action.setShortcuts([QKeySequence(k) for k in keymap.keys[name]])
        action.triggered.connect(lambda _checked=False, run=handlers[name]: run())
        if name in CANVAS_ONLY:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            window.canvas.addAction(action)
        else:
            window.addAction(action)
        actions[name] = action
    menus: dict[str, QMenu] = {}
    for title, names in MENUS.items():
        menu = menus[title] = window.menuBar().addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(actions[name])
    return actions, menus
