"""File > Export: the format, the target (typed or chosen in a file dialog), progress with cancel, and the result.
Widgets only: `ExportController` runs the export."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QDialog, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QRadioButton, QVBoxLayout)

from app.coco.export_job import FORMATS

DEFAULT_NAMES = {"coco": "annotations_coco.json", "coco-polygons": "annotations_coco_polygons.json",
                 "png": "masks"}
"""Where an export goes unless the annotator picks another place: these names inside the project folder."""


class ExportDialog(QDialog):
    """Emits export_requested(format, target path) and cancel_requested()."""

    export_requested = Signal(str, object)
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.folder: Path | None = None
        self._shown: str | None = None   # the format the target was last filled in for
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.formats = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for fmt, text in FORMATS.items():
            button = self.buttons[fmt] = QRadioButton(text)
            button.setObjectName(f"format_{fmt}")
            self.formats.addButton(button)
            button.toggled.connect(self._format_changed)
        self.target = QLineEdit()
        self.target.setObjectName("export_target")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m images")
        self.progress.setValue(0)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.setMinimumHeight(5 * self.fontMetrics().lineSpacing())   # room for the result and a note
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self._export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the export; a COCO file is then not written at all")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        self._layout()
        self.set_running(False)
        self.resize(780, 0)

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(QLabel("Format:"), 0, 0)
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        row.addStretch(1)
        grid.addLayout(row, 0, 1, 1, 2)
        grid.addWidget(QLabel("Write to:"), 1, 0)
        grid.addWidget(self.target, 1, 1)
        grid.addWidget(self.browse_button, 1, 2)
        actions = QHBoxLayout()
        actions.addStretch(1)
        for button in (self.export_button, self.cancel_button, self.close_button):
            actions.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addLayout(actions)

    @property
    def fmt(self) -> str:
        """The chosen format's name (a key of FORMATS)."""
        return next(fmt for fmt, button in self.buttons.items() if button.isChecked())

    def prepare(self, folder: Path, fmt: str, counts: str) -> None:
        """Show the dialog for the project in `folder` with `fmt` chosen and its default target filled in."""
        if folder != self.folder:
            self.target.clear()
        self.folder = folder
        self.counts.setText(counts)
        self.result.clear()
        self.progress.reset()
        self.buttons[fmt].setChecked(True)
        self._format_changed()

    def set_running(self, running: bool) -> None:
        """While an export runs only Cancel works."""
        for widget in (*self.buttons.values(), self.target, self.browse_button, self.export_button,
                       self.close_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def show_result(self, text: str) -> None:
        self.result.setText(text)

    def reject(self) -> None:
        if self.cancel_button.isEnabled():   # closing while running (Esc, the title bar's ×) cancels
            self.cancel_requested.emit()
            return
        super().reject()

    def _format_changed(self, checked: bool = True) -> None:
        """A format chosen: the target gets that format's default name in the same folder, unless the annotator
        named a file and only switched between RLE and polygons."""
        if not checked or self.folder is None:
            return
        text = self.target.text().strip()
        current = Path(text) if text else None
        own_name = current is not None and current.name not in DEFAULT_NAMES.values()
        if own_name and (self.fmt == "png") == (self._shown == "png"):
            self._shown = self.fmt
            return
        self._shown = self.fmt
        self.target.setText(str((current.parent if current is not None else self.folder) / DEFAULT_NAMES[self.fmt]))

    def _browse(self) -> None:
        start = self.target.text() or str(self.folder or "")
        if self.fmt == "png":
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the PNG masks", start)
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, "COCO file to write", start, "COCO JSON (*.json);;All (*)")
        if chosen:
            self.target.setText(chosen)

    def _export(self) -> None:
        text = self.target.text().strip()
        if not text:
            self.show_result("Say where to write the export.")
            return
        self.export_requested.emit(self.fmt, Path(text).expanduser())
