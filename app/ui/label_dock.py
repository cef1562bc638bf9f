"""The label panel: the project's labels with their colours and digit keys; add, rename, recolour, pick."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QFont, QIcon
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from app.annotate import AnnotationSession
from app.annotate.session import STORE_ERRORS
from app.ui.swatches import swatch


NO_LABEL_YET = "No label yet: add one in the Labels panel"


class LabelDock(QDockWidget):
    """Lists the labels; the highlighted one is what accepted instances get. `report(text)` shows errors.

    It also names the Labels menu's "use label N" actions (see `name_actions`) after the labels they pick.
    """

    def __init__(self, report: Callable[[str], None], parent=None) -> None:
        super().__init__("Labels", parent)
        self.setObjectName("labels_dock")
        self._report = report
        self._session: AnnotationSession | None = None
        self._use_actions: list[QAction] = []
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._picked)
        self.add_button, self.rename_button, self.colour_button = (QPushButton(t) for t in ("Add…", "Rename…",
                                                                                           "Colour…"))
        self.add_button.clicked.connect(self.add)
        self.rename_button.clicked.connect(self.rename)
        self.colour_button.clicked.connect(self.recolour)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.rename_button, self.colour_button):
            buttons.addWidget(button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.setWidget(body)

    def bind(self, session: AnnotationSession | None) -> None:
        """Show this session's labels (None: none)."""
        self._session = session
        if session is not None:
            session.labels.changed.connect(self.refresh)
        self.refresh()

    def name_actions(self, actions: list[QAction]) -> None:
        """Keep `actions` (the ones that pick label 1, 2, ...) named after the labels, the current one ticked."""
        self._use_actions = actions
        for action in actions:
            action.setCheckable(True)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list; the current label is selected and bold."""
        self.list.blockSignals(True)
        self.list.clear()
        if self._session is not None:
            current = self._session.labels.current
            for position, label in enumerate(self._session.labels.list()):
                key = f"{position + 1}  " if position < 9 else "    "
                item = QListWidgetItem(swatch(label.colour), key + label.name)
                item.setData(Qt.ItemDataRole.UserRole, label.id)
                self.list.addItem(item)
                if current is not None and label.id == current.id:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    self.list.setCurrentItem(item)
        for button in (self.add_button, self.rename_button, self.colour_button):
            button.setEnabled(self._session is not None)
        self.list.blockSignals(False)
        self._name_actions()

    def _name_actions(self) -> None:
        labels = self._session.labels.list() if self._session is not None else []
        current = self._session.labels.current if self._session is not None else None
        for position, action in enumerate(self._use_actions):
            label = labels[position] if position < len(labels) else None
            action.setVisible(label is not None or position == 0)
            action.setEnabled(label is not None)
            action.setText(label.name.replace("&", "&&") if label is not None else NO_LABEL_YET)
            action.setIcon(swatch(label.colour) if label is not None else QIcon())
            action.setChecked(label is not None and current is not None and label.id == current.id)

    def add(self) -> None:
        """Ask for a name and add a label (it becomes current)."""
        if self._session is None:
            return
        name, ok = QInputDialog.getText(self, "Add label", "Label name:")
        if ok and name.strip():
            self._try(lambda: self._session.labels.add(name))

    def rename(self) -> None:
        """Ask for a new name for the current label."""
        label = self._session.labels.current if self._session is not None else None
        if label is None:
            return
        name, ok = QInputDialog.getText(self, "Rename label", f"New name for {label.name!r}:", text=label.name)
        if ok and name.strip() and name.strip() != label.name:
            self._try(lambda: self._session.labels.rename(label.id, name))

    def recolour(self) -> None:
        """Ask for a new colour for the current label."""
        label = self._session.labels.current if self._session is not None else None
        if label is None:
            return
        colour = QColorDialog.getColor(QColor(label.colour), self, f"Colour of {label.name}")
        if colour.isValid():
            self._try(lambda: self._session.labels.recolour(label.id, colour.name()))

    def _picked(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None and self._session is not None:
            self._session.labels.select(item.data(Qt.ItemDataRole.UserRole))

    def _try(self, change: Callable) -> None:
        try:
            change()
        except (*STORE_ERRORS, ValueError) as exc:
            self._report(str(exc))
