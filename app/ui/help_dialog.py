"""Help > Keyboard shortcuts: every action with its keys, the mouse bindings, and where to remap them."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from app.ui.keymap import ACTIONS

MOUSE = (
    ("Positive point", "Left click"),
    ("Negative point", "Right click"),
    ("Box", "Left drag"),
    ("Paint (brush tool) / erase (eraser tool)", "Left drag"),
    ("Erase with the brush tool", "Right drag"),
    ("Zoom at the cursor", "Wheel"),
    ("Pan", "Middle drag, or Space + left drag"),
    ("Brush size", "Ctrl + wheel"),
)


class HelpDialog(QDialog):
    """A table of the shortcuts in use and the fixed mouse bindings."""

    def __init__(self, keys: dict[str, tuple[str, ...]], config: Path | None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(text, ", ".join(keys.get(name, ())) or "—") for name, (text, _) in ACTIONS.items()] + list(MOUSE)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys / mouse"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (text, keys_text) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(text))
            self.table.setItem(row, 1, QTableWidgetItem(keys_text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        if config is not None:
            note = QLabel(f"Remap keys in <code>{config}</code> (read at start-up).")
            note.setWordWrap(True)
            layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 640)
