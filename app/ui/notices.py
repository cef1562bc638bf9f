"""Messages for the annotator: errors in a bar over the canvas that never takes the keyboard, notes in the
status bar. Work goes on while an error is shown; the bar closes with its × button."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QToolButton

STATUS_MS = 6000
SHOWN = 4  # errors listed at once in the bar; older ones are counted


class NoticeBar(QFrame):
    """A red bar listing the latest errors, with a close button."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("notice_bar")
        self.setStyleSheet("#notice_bar { background: #fdecea; border: 1px solid #d32f2f; border-radius: 3px; }"
                           "QLabel { color: #611a15; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close = QToolButton()
        close.setText("×")
        close.setToolTip("Dismiss")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.messages: list[str] = []
        self.hide()

    def add(self, message: str) -> None:
        """Show one more error."""
        self.messages.append(message)
        older = len(self.messages) - SHOWN
        lines = self.messages[-SHOWN:] + ([f"(and {older} earlier)"] if older > 0 else [])
        self.text.setText("\n\n".join(lines))
        self.show()

    def dismiss(self) -> None:
        """Hide the bar and forget its errors."""
        self.messages = []
        self.hide()


class Notices:
    """Errors and notes for the annotator; `history` keeps every (level, text) shown."""

    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self.bar = NoticeBar()
        self.history: list[tuple[str, str]] = []

    def error(self, text: str, title: str | None = None) -> None:
        """Show an error in the bar (titled when `title` is given) and its first line in the status bar."""
        self._record("error", text)
        self.bar.add(f"{title}: {text}" if title else text)

    def info(self, text: str) -> None:
        """Show a note in the status bar for a few seconds."""
        self._record("info", text)

    def _record(self, level: str, text: str) -> None:
        self.history.append((level, text))
        self._window.statusBar().showMessage(text.splitlines()[0], STATUS_MS)
