"""The fine-tuning settings: the PEFT choice and the number of steps up front, the rest folded under "Advanced"."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout,
                               QMainWindow, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from app.store.records import UneditedCount
from app.trainer.settings import DROPOUT_FROM, PRESETS, TrainSettings, parse_blocks

PRESET_TEXT = {
    "mopeft": "MoPEFT: LoRA + Prefix + Adapter, gated",
    "lora": "LoRA only",
    "prefix": "Prefix tuning only",
    "adapter": "Adapter only",
}
BLOCK_CHOICES = ["last:2", "last:4", "last:6", "all"]


class TrainingForm(QWidget):
    """Edits a TrainSettings; `settings()` reads it back. Defaults are TrainSettings' own."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        d = TrainSettings()
        self.preset = QComboBox()
        for key, text in PRESET_TEXT.items():
            self.preset.addItem(text, key)
        self.preset.setToolTip("Which PEFT kinds to train. MoPEFT trains all three with a gate each and learns "
                               "which suits your images.")
        self.steps = _spin(10, 100_000, d.steps, "Optimiser steps; more steps take longer and fit your data more.")
        self.steps.setSingleStep(50)
        self.continue_active = QCheckBox("Continue from the active adapter")
        self.continue_active.setChecked(d.continue_from_active)
        self.continue_active.setToolTip("Off: start again from the base model.")
        self.skip_unedited = QCheckBox()
        self.skip_unedited.setToolTip("Unedited: SAM's mask for one click or one box, accepted as it came (no "
                                      "refining click, no brush or eraser).\nTraining on such masks teaches SAM "
                                      "its own mistakes and can make it worse; corrected masks make it better.")
        self.show_unedited(None)

        self.blocks = QComboBox()
        self.blocks.setEditable(True)
        self.blocks.addItems(BLOCK_CHOICES)
        self.blocks.setCurrentText(str(d.blocks))
        self.blocks.setToolTip("Encoder blocks that get PEFT modules: 'last:N', 'all' or indices like 8,9,10,11.\n"
                               "'last:N' is fastest: the frozen blocks before them run once per image.")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(d.lr)
        self.lr.setToolTip("AdamW learning rate (peak; warm-up then cosine decay).")
        self.lora_rank = _spin(1, 256, d.lora_rank, "Rank r of the LoRA updates on q and v.")
        self.prefix_length = _spin(1, 256, d.prefix_length, "Learned key/value vectors per block.")
        self.images_per_step = _spin(1, 64, d.images_per_step, "Images in each step's batch.")
        self.objects_per_image = _spin(1, 64, d.objects_per_image, "Instances per image in each step.")
        self.adapter_dropout = QDoubleSpinBox()
        self.adapter_dropout.setDecimals(2)
        self.adapter_dropout.setRange(0.0, 0.9)
        self.adapter_dropout.setSingleStep(0.05)
        self.adapter_dropout.setValue(d.adapter_dropout)
        self.adapter_dropout.setSpecialValueText("off")
        self.adapter_dropout.setToolTip(f"Drop this share of the adapters' bottleneck units in each step after "
                                        f"the first {DROPOUT_FROM:.0%} of the steps:\nkeeps the adapters from "
                                        "memorising a few images.")
        self.keep_best = _spin(0, 100_000, d.select_every,
                               "Score the held-out images every this many steps and keep the best weights rather "
                               "than the last:\nhelps when a few images get memorised. Each score costs an "
                               "embedding per held-out image.")
        self.keep_best.setSpecialValueText("off (keep the last)")
        self.keep_best.setPrefix("every ")
        self.keep_best.setSuffix(" steps")

        self.preset.currentIndexChanged.connect(self._preset_changed)

        self.advanced = QWidget()
        advanced = QFormLayout(self.advanced)
        advanced.setContentsMargins(0, 0, 0, 0)
        for text, widget in (("Blocks", self.blocks), ("Learning rate", self.lr), ("LoRA rank", self.lora_rank),
                             ("Prefix length", self.prefix_length), ("Images per step", self.images_per_step),
                             ("Instances per image", self.objects_per_image),
                             ("Adapter dropout", self.adapter_dropout),
                             ("Keep best weights", self.keep_best)):
            advanced.addRow(text, widget)
        self.advanced.setVisible(False)
        self.toggle = QToolButton()
        self.toggle.setText("Advanced")
        self.toggle.setCheckable(True)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.toggled.connect(self._fold)
        self._folded_height: int | None = None  # the dock's height before Advanced opened, given back on closing

        basic = QFormLayout()
        basic.setContentsMargins(0, 0, 0, 0)
        basic.addRow("Train", self.preset)
        basic.addRow("Steps", self.steps)
        basic.addRow(self.continue_active)
        basic.addRow(self.skip_unedited)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(basic)
        layout.addWidget(self.toggle)
        layout.addWidget(self.advanced)

    def settings(self) -> TrainSettings:
        """The settings as shown; ValueError naming the field when one is not valid."""
        settings = TrainSettings(kinds=list(PRESETS[self.preset.currentData()]),
                                 blocks=parse_blocks(self.blocks.currentText()),
                                 lora_rank=self.lora_rank.value(), prefix_length=self.prefix_length.value(),
                                 steps=self.steps.value(), lr=self.lr.value(),
                                 images_per_step=self.images_per_step.value(),
                                 objects_per_image=self.objects_per_image.value(),
                                 adapter_dropout=self.adapter_dropout.value(),
                                 select_every=self.keep_best.value(),
                                 continue_from_active=self.continue_active.isChecked())
        settings.mopeft_config()  # raises ValueError on a bad combination
        return settings

    def show_unedited(self, count: UneditedCount | None) -> None:
        """Say how many accepted instances were accepted unedited (None: no project); the box to leave them out
        is enabled only when there are some."""
        unedited = count.unedited if count is not None else 0
        text = f"Leave out the {unedited} of {count.total} instances accepted unedited" if unedited else \
            "Leave out instances accepted unedited (none so far)"
        if count is not None and count.unknown:
            text += f"\n({count.unknown} accepted before this was recorded are kept)"
        self.skip_unedited.setText(text)
        self.skip_unedited.setEnabled(bool(unedited))

    def _preset_changed(self) -> None:
        self.adapter_dropout.setEnabled("adapter" in PRESETS[self.preset.currentData()])

    def _fold(self, shown: bool) -> None:
        dock = self._dock()
        if shown and dock is not None:
            self._folded_height = dock.height()
        self.advanced.setVisible(shown)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if not shown:
            self._give_back_height()

    def _dock(self) -> QDockWidget | None:
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QDockWidget):
            widget = widget.parentWidget()
        return widget

    def _give_back_height(self) -> None:
        """Opening Advanced made the dock taller; closing it gives that height back (to the canvas)."""
        dock, height, self._folded_height = self._dock(), self._folded_height, None
        if dock is None or height is None:
            return
        QApplication.sendPostedEvents()  # the layouts hear that the panel is hidden...
        widget = self
        while widget is not dock:  # ...and take its height off the dock's minimum now
            if widget.layout() is not None:
                widget.layout().activate()
            widget = widget.parentWidget()
        dock.layout().activate()
        window = dock.parentWidget()
        if dock.isFloating() or not isinstance(window, QMainWindow):
            dock.resize(dock.width(), height)
        else:
            window.resizeDocks([dock], [height], Qt.Orientation.Vertical)


def _spin(low: int, high: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin
