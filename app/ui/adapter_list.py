"""The adapter versions of the project: the base model first, then every fine-tuning result, newest last.

Columns: version (with "in use"), kinds, steps, 1-click mIoU of the model in use before the run → the version
after it, and the number of validation images; a row's tooltip has the rest in words. Double-click (or the
button) makes a row the one SAM runs with: that is how the annotator rolls back, or takes up a version that
was offered rather than switched on.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.store.records import AdapterVersion
from app.mopeft import mixture

BASE_ROW = "Base model (no adapter)"
COLUMNS = ["Version", "Kinds", "Steps", "1-click mIoU", "Val."]


def metrics_text(metrics: dict | None) -> str:
    """'0.41 → 0.67' style text of a version's before/after 1-click mIoU; '–' without validation."""
    before, after = (metrics or {}).get("before"), (metrics or {}).get("after")
    if not after:
        return "–"
    return f"{before['miou_1click']:.2f} → {after['miou_1click']:.2f}" if before else f"{after['miou_1click']:.2f}"


def kinds_text(kinds: list[str]) -> str:
    """'MoPEFT' for the full mixture, else the kinds joined by '+'."""
    return "MoPEFT" if sorted(kinds) == sorted(mixture()) else "+".join(kinds)


def version_tooltip(version: AdapterVersion) -> str:
    """A version's details in words: file, base model, date, scores, validation images, settings."""
    metrics, config = version.metrics or {}, version.config or {}
    before, after = metrics.get("before"), metrics.get("after")
    lines = [version.path, f"base model: {version.base_model}", f"trained {version.created_at[:16].replace('T', ' ')}"]
    if after:
        noc = f"{before['noc85']:.2f} → {after['noc85']:.2f}" if before else f"{after['noc85']:.2f}"
        lines.append(f"1-click mIoU {metrics_text(metrics)} (model in use → this version), NoC@85 {noc}")
    else:
        lines.append("not validated (no validation image)")
    names = metrics.get("validation_names")
    if names:
        lines.append(f"validation images ({len(names)}): {', '.join(names)}")
    settings = ", ".join(f"{key} {_value(value)}" for key, value in config.items())
    return "\n".join(lines + [f"settings: {settings}"] if settings else lines)


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={_value(v)}" for k, v in value.items())
    return str(value)


class AdapterList(QWidget):
    """Rows: the base model, then the versions. Emits `activate_requested(version id or None)`."""

    activate_requested = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.headerItem().setToolTip(3, "One-click mIoU on the validation images: the model in use before "
                                             "the run → this version")
        self.tree.headerItem().setToolTip(4, "Validation images the version was scored on")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the first column gives way
        header.setMinimumSectionSize(24)
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
        base.setFirstColumnSpanned(True)  # it has nothing in the other columns: its name may use their width
        for number, version in enumerate(versions, start=1):
            metrics = version.metrics or {}
            names = metrics.get("validation_names")
            row = QTreeWidgetItem([f"v{number}", kinds_text(version.config.get("kinds", [])),
                                   str(metrics.get("steps", version.config.get("steps", ""))),
                                   metrics_text(metrics), str(len(names)) if names is not None else "–"])
            row.setData(0, Qt.ItemDataRole.UserRole, version.id)
            tip = version_tooltip(version)
            for column in range(len(COLUMNS)):
                row.setToolTip(column, tip)
            for column in range(2, len(COLUMNS)):
                row.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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
