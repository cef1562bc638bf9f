"""Start the GUI (`python main.py`, `mopeft-annotator`)."""
from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

PLACEHOLDER = (
    "<h2>MoPEFT Annotator</h2>"
    "<p>This build holds the MoPEFT core library and the command line (<code>mopeft --help</code>).</p>"
    "<p>Not here yet: the annotation canvas, the project browser and the fine-tuning dock.</p>"
)


def build_window() -> QMainWindow:
    """The main window of this build: for now an honest placeholder."""
    window = QMainWindow()
    window.setWindowTitle("MoPEFT Annotator")
    label = QLabel(PLACEHOLDER)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    window.setCentralWidget(label)
    window.resize(720, 420)
    return window


def main(argv: list[str] | None = None) -> int:
    """Run the Qt event loop with the main window until it is closed."""
    qt_app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    window = build_window()
    window.show()
    return qt_app.exec()
