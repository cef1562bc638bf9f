"""The adapter versions of the project: the base model first, then every fine-tuning result, newest last.

Double-click (or the button) makes a row the one SAM runs with: that is how the annotator rolls back.
"""
from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.store.records import AdapterVersion

BASE_ROW = "Base model (no adapter)"


def metrics_text(metrics: dict | None) -> str:
    """'0.41 → 0.67' style text of a version's before/after 1-click mIoU; '–' without validation."""
    before, after = (metrics or {}).get("before"), (metrics or {}).get("after")
    if not after:
        return "–"
    return f"{before['miou_1click']:.2f} → {after['miou_1click']:.2f}" if before else f"{after['miou_1click']:.2f}"


class AdapterList(QWidget):
    """Rows: the base model, then the versions. Emits `activate_requested(version id or None)`."""

    activate_requested = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Version", "Kinds", "1-click mIoU", "NoC@85", "Trained"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemDoubleClicked.connect(lambda item, _column: self._request(item))
        self.tree.currentItemChanged.connect(lambda *_: self._update_button())
        self.use_button = QPushButton("Use this version")
        self.use_button.setToolTip("SAM runs with the selected version from now on (the base model: no adapter)")
        self.use_button.clicked.connect(lambda: self._request(self.tree.currentItem()))
        self.active_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.use_button)
        self._update_button()

    def show_versions(self, versions: list[AdapterVersion] | None) -> None:
        """List these versions (None: no project; the list is empty)."""
        self.tree.clear()
        if versions is None:
            self._update_button()
            return
        self.active_id = next((v.id for v in versions if v.active), None)
        base = QTreeWidgetItem([BASE_ROW, "", "", "", ""])
        base.setData(0, Qt.ItemDataRole.UserRole, None)
        base.setToolTip(0, "SAM as loaded, without any adapter")
        self._mark(base, self.active_id is None)
        self.tree.addTopLevelItem(base)
        for number, version in enumerate(versions, start=1):
            after = (version.metrics or {}).get("after") or {}
            row = QTreeWidgetItem([f"v{number}", "+".join(version.config.get("kinds", [])),
                                   metrics_text(version.metrics), f"{after['noc85']:.1f}" if after else "–",
                                   version.created_at[:16].replace("T", " ")])
            row.setData(0, Qt.ItemDataRole.UserRole, version.id)
            row.setToolTip(0, f"{version.path}\nbase model: {version.base_model}\n"
                              f"settings: {json.dumps(version.config)}\nmetrics: {json.dumps(version.metrics)}")
            self._mark(row, version.active)
            self.tree.addTopLevelItem(row)
        self._update_button()

    def select(self, version_id: int | None) -> None:
        """Make the row of this version (None: the base model) the current one, so "Use this version" applies to it."""
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            if item.data(0, Qt.ItemDataRole.UserRole) == version_id:
                self.tree.setCurrentItem(item)
                return

    def is_active(self, item: QTreeWidgetItem) -> bool:
        """True for the row SAM runs with (shown in bold)."""
        return item.data(0, Qt.ItemDataRole.UserRole) == self.active_id

    def _mark(self, item: QTreeWidgetItem, active: bool) -> None:
        font = QFont(item.font(0))
        font.setBold(active)
        for column in range(self.tree.columnCount()):
            item.setFont(column, font)
        if active:
            item.setText(0, item.text(0) + "  (in use)")

    def _request(self, item: QTreeWidgetItem | None) -> None:
        if item is not None and not self.is_active(item):
            self.activate_requested.emit(item.data(0, Qt.ItemDataRole.UserRole))

    def _update_button(self) -> None:
        item = self.tree.currentItem()
        self.use_button.setEnabled(item is not None and not self.is_active(item))
