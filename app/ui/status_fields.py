"""The permanent fields of the status bar: model and device, embedding, prefetch, tool, image position."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


class StatusFields:
    """Adds its fields to the right of a status bar (messages keep the left)."""

    def __init__(self, bar: QStatusBar) -> None:
        self.position, self.tool, self.prefetch, self.embedding, self.model = (QLabel() for _ in range(5))
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(80)
        self.busy.hide()
        for widget in (self.position, self.tool, self.prefetch, self.embedding, self.busy, self.model):
            bar.addPermanentWidget(widget)

    def set_model(self, text: str, tooltip: str, warning: str | None = None) -> None:
        """Model name and device; a warning's first line (e.g. random weights) is shown in red, all of it in the tip."""
        self.model.setText(text + (f"  ⚠ {warning.splitlines()[0]}" if warning else ""))
        self.model.setStyleSheet("color: #d32f2f; font-weight: bold;" if warning else "")
        self.model.setToolTip(tooltip + (f"\n{warning}" if warning else ""))

    def set_embedding(self, text: str, busy: bool) -> None:
        """What the embedding worker does; `busy` shows a progress bar."""
        self.embedding.setText(text)
        self.busy.setVisible(busy)

    def set_prefetch(self, text: str) -> None:
        """Background embedding of the next images."""
        self.prefetch.setText(text)

    def set_tool(self, text: str) -> None:
        """The canvas tool and brush size."""
        self.tool.setText(text)

    def set_position(self, text: str) -> None:
        """Which image of how many."""
        self.position.setText(text)
