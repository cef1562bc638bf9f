"""The "Fine-tune on my corrections" dock: settings, start/cancel, progress with ETA, live loss and gate plots,
the before/after summary and the adapter versions. Widgets only: `TrainingController` does the work."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QDockWidget, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
                               QSplitter, QVBoxLayout, QWidget)

from app.training.finetune.events import MetricsEvent, PhaseEvent, StepEvent
from app.ui.adapter_list import AdapterList
from app.ui.training_form import TrainingForm
from app.ui.training_plots import GateHeatmap, GateHistory, LossPlot

START_TEXT = "Fine-tune on my corrections"


def eta_text(seconds: float) -> str:
    """'1 min 05 s left' style text."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s left" if seconds >= 60 else f"{seconds} s left"


def _scrolling(label: QLabel) -> QScrollArea:
    """`label` in a frameless scroll area that takes the height left over."""
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    area = QScrollArea()
    area.setWidget(label)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumHeight(1)  # below its own size hint: in a short dock the summary gives way, not the form
    return area


class TrainingDock(QDockWidget):
    """Emits start_requested(), cancel_requested() and activate_requested(version id or None)."""

    start_requested = Signal()
    cancel_requested = Signal()
    activate_requested = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__("Fine-tuning", parent)
        self.setObjectName("training_dock")
        self.form = TrainingForm()
        self.start_button = QPushButton(START_TEXT)
        self.start_button.setDefault(True)
        self.start_button.setToolTip("Fine-tune SAM on every instance accepted in this project (Ctrl+T)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the run; the adapter in use stays as it is")
        self.start_button.clicked.connect(self.start_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.phase = QLabel("Accept some instances, then fine-tune SAM on them.")
        self.phase.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.loss = LossPlot()
        self.heatmap = GateHeatmap()
        self.gate_history = GateHistory()
        self.versions = AdapterList()
        self.versions.activate_requested.connect(self.activate_requested)

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)
        controls = QWidget()
        column = QVBoxLayout(controls)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.form)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.phase)
        column.addWidget(_scrolling(self.summary), 1)  # a long summary scrolls rather than squashing the form
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (controls, self.loss, self.heatmap, self.gate_history, self.versions):
            splitter.addWidget(widget)
        splitter.setSizes([280, 300, 220, 300, 330])
        self.setWidget(splitter)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        """Enable what makes sense while a run is (or is not) going on."""
        self.progress.setVisible(running)  # between runs its line goes to the result text
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.form.setEnabled(not running)
        self.versions.setEnabled(not running)

    def begin(self, steps: int) -> None:
        """A run starts: clear the plots and the last summary."""
        self.progress.setRange(0, steps)
        self.progress.setValue(0)
        self.summary.clear()
        self.phase.show()
        for plot in (self.loss, self.heatmap, self.gate_history):
            plot.reset()
        self.set_running(True)

    @Slot(object)
    def show_event(self, event) -> None:
        """Show what the run reports."""
        if isinstance(event, PhaseEvent):
            self.phase.setText(event.message[:1].upper() + event.message[1:] + "…")
        elif isinstance(event, StepEvent):
            self.progress.setValue(event.step)
            self.phase.setText(f"Training: step {event.step} of {event.steps}, loss {event.loss:.3f}, "
                               f"{eta_text(event.eta_seconds)}")
            for plot in (self.loss, self.heatmap, self.gate_history):
                plot.add(event)
        elif isinstance(event, MetricsEvent):
            m = event.metrics
            line = f"Validation {event.when}: 1-click mIoU {m['miou_1click']:.3f}, NoC@85 {m['noc85']:.2f}"
            self.summary.setText("\n".join(filter(None, [self.summary.text(), line])))

    def show_result(self, text: str) -> None:
        """A run succeeded: its result text takes the phase line's room too (it says the same and more)."""
        self.summary.setText(text)
        self.phase.hide()

    def end(self, message: str) -> None:
        """The run is over (finished, failed or cancelled): say how it ended."""
        self.set_running(False)
        self.phase.setText(message)
