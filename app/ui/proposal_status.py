"""The status bar's field for a proposing run: what it does, a progress bar and a Cancel button; hidden when idle."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget


class ProposalStatus(QWidget):
    """Shows a run's progress; emits `cancel_requested` when its Cancel button is pressed."""

    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.text = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(120)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setToolTip("Stop proposing; the images done keep their new proposals")
        self.cancel.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.text, self.bar, self.cancel):
            layout.addWidget(widget)
        self.hide()

    def show_progress(self, text: str, done: int, total: int) -> None:
        """Say what the run does, `done` of `total` steps (total 0: busy, no count)."""
        self.text.setText(text)
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.cancel.setEnabled(True)
        self.show()

    def cancelling(self) -> None:
        """The run was asked to stop."""
        self.text.setText("Cancelling the proposals…")
        self.cancel.setEnabled(False)
