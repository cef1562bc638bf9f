"""The instance list of the current image: select, show/hide, relabel and delete instances."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QListWidget, QListWidgetItem, QMenu, QPushButton,
                               QVBoxLayout, QWidget)

from app.annotate import AnnotationSession
from app.store import InstanceSource
from app.ui.swatches import swatch

SOURCE_TEXT = {InstanceSource.MODEL: "SAM", InstanceSource.CORRECTED: "corrected", InstanceSource.IMPORTED: "imported"}


class InstanceDock(QDockWidget):
    """One row per instance (tick = visible); the buttons act on the selected one."""

    def __init__(self, parent=None) -> None:
        super().__init__("Instances", parent)
        self.setObjectName("instances_dock")
        self._session: AnnotationSession | None = None
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._selected)
        self.list.itemChanged.connect(self._ticked)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.relabel_button = QPushButton("Use current label")
        self.delete_button = QPushButton("Delete")
        self.relabel_button.clicked.connect(self.relabel_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.relabel_button)
        buttons.addWidget(self.delete_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.setWidget(body)

    def bind(self, session: AnnotationSession | None) -> None:
        """Show this session's instances (None: none)."""
        self._session = session
        if session is not None:
            session.instances_changed.connect(self.refresh)
            session.labels.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list for the current image."""
        self.list.blockSignals(True)
        self.list.clear()
        session = self._session
        if session is not None:
            labels = {label.id: label for label in session.labels.list()}
            for number, instance in enumerate(session.instances(), start=1):
                label = labels[instance.label_id]
                text = f"{number}. {label.name} · {instance.area} px · {SOURCE_TEXT[instance.source]}"
                item = QListWidgetItem(swatch(label.colour), text)
                item.setData(Qt.ItemDataRole.UserRole, instance.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                hidden = instance.id in session.hidden
                item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
                self.list.addItem(item)
                if instance.id == session.selected:
                    self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        has_selection = session is not None and session.selected is not None
        self.relabel_button.setEnabled(has_selection)
        self.delete_button.setEnabled(has_selection)

    def relabel_selected(self, label_id: int | None = None) -> None:
        """Give the selected instance `label_id` (default: the current label)."""
        session = self._session
        if session is None or session.selected is None:
            return
        if label_id is None:
            current = session.labels.current
            label_id = current.id if current is not None else None
        if label_id is not None:
            session.relabel_instance(session.selected, label_id)

    def delete_selected(self) -> None:
        """Delete the selected instance (undoable)."""
        if self._session is not None and self._session.selected is not None:
            self._session.delete_instance(self._session.selected)

    def toggle_selected(self) -> None:
        """Hide the selected instance, or show it again."""
        session = self._session
        if session is not None and session.selected is not None:
            session.set_hidden(session.selected, session.selected not in session.hidden)

    def _selected(self, item: QListWidgetItem | None, _previous) -> None:
        if self._session is not None:
            self._session.select_instance(None if item is None else item.data(Qt.ItemDataRole.UserRole))

    def _ticked(self, item: QListWidgetItem) -> None:
        if self._session is not None:
            hidden = item.checkState() != Qt.CheckState.Checked
            self._session.set_hidden(item.data(Qt.ItemDataRole.UserRole), hidden)

    def _menu(self, position) -> None:
        item = self.list.itemAt(position)
        if item is None or self._session is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        relabel = menu.addMenu("Relabel as")
        for label in self._session.labels.list():
            action = relabel.addAction(swatch(label.colour), label.name)
            action.triggered.connect(lambda _checked=False, lid=label.id: self.relabel_selected(lid))
        menu.addAction("Hide / show", self.toggle_selected)
        menu.addAction("Delete", self.delete_selected)
        menu.exec(self.list.viewport().mapToGlobal(position))
