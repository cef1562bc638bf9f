"""The fine-tuning settings: the PEFT choice and the number of steps up front, the rest folded under "Advanced"."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox,
                               QFormLayout, QMainWindow, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from app.mopeft import KIND_REGISTRY
from app.store.records import UneditedCount
from app.training.finetune.settings import TrainSettings, parse_blocks, presets

BLOCK_CHOICES = ["last:2", "last:4", "last:6", "all"]


def preset_text(key: str) -> str:
    """'MoPEFT: LoRA + Prefix + Bottleneck, gated' for the mixture, else '<kind title> only'."""
    if key == "mopeft":
        return f"MoPEFT: {' + '.join(KIND_REGISTRY[k].label for k in presets()[key])}, gated"
    return f"{KIND_REGISTRY[key].title} only"


class TrainingForm(QWidget):
    """Edits a TrainSettings; `settings()` reads it back. Defaults are TrainSettings' own."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        d = TrainSettings()
        self.preset = QComboBox()
        for key in presets():
            self.preset.addItem(preset_text(key), key)
        self.preset.setToolTip("Which PEFT kinds to train. MoPEFT trains them all with a gate each and learns "
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
        self.blocks.setCurrentText(str(d.mopeft.blocks))
        self.blocks.setToolTip("Encoder blocks that get PEFT modules: 'last:N', 'all' or indices like 8,9,10,11.\n"
                               "'last:N' is fastest: the frozen blocks before them run once per image.")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(d.lr)
        self.lr.setToolTip("AdamW learning rate (peak; warm-up then cosine decay).")
        self.kind_fields = _kind_fields()  # "lora_rank", "adapter_dropout", ...: the registered kinds' options
        self.images_per_step = _spin(1, 64, d.images_per_step, "Images in each step's batch.")
        self.objects_per_image = _spin(1, 64, d.objects_per_image, "Instances per image in each step.")
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
        sizes = [(f.label, f.widget) for f in self.kind_fields.values() if not f.training]  # shapes first
        training = [(f.label, f.widget) for f in self.kind_fields.values() if f.training]
        for text, widget in (("Blocks", self.blocks), ("Learning rate", self.lr), *sizes,
                             ("Images per step", self.images_per_step),
                             ("Instances per image", self.objects_per_image), *training,
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
        self._given_height: int | None = None
        self._again = QTimer(self, singleShot=True, interval=0)
        self._again.timeout.connect(self._resize_dock)

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
        return TrainSettings.from_dict({
            "kinds": presets()[self.preset.currentData()], "blocks": parse_blocks(self.blocks.currentText()),
            **{key: field.widget.value() for key, field in self.kind_fields.items()},
            "steps": self.steps.value(), "lr": self.lr.value(), "images_per_step": self.images_per_step.value(),
            "objects_per_image": self.objects_per_image.value(), "select_every": self.keep_best.value(),
            "continue_from_active": self.continue_active.isChecked()})

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
        """Only the chosen kinds' fields can be edited."""
        chosen = presets()[self.preset.currentData()]
        for field in self.kind_fields.values():
            field.widget.setEnabled(field.kind in chosen)

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
        self._given_height = height
        self._resize_dock()
        # a layout that had not yet taken the panel's height off the dock's minimum clamps that resize: once the
        # pending layout requests are done, give the height back again (the timer is the form's: it dies with it)
        self._again.start()

    def _resize_dock(self) -> None:
        dock, height = self._dock(), self._given_height
        if dock is None or height is None:
            return
        window = dock.parentWidget()
        if dock.isFloating() or not isinstance(window, QMainWindow):
            dock.resize(dock.width(), height)
        else:
            window.resizeDocks([dock], [height], Qt.Orientation.Vertical)


@dataclass(frozen=True)
class KindField:
    """The form's field for one option of a PEFT kind: its spin box, and whether the option is a training one."""

    kind: str
    label: str
    training: bool
    widget: QAbstractSpinBox


def _kind_fields() -> dict[str, KindField]:
    """A field for every option of a registered kind that has a form label (see KindConfig), by flat key
    ("lora_rank"), showing its default."""
    fields = {}
    for name, kind in KIND_REGISTRY.items():
        for f in dataclasses.fields(kind.config_class):
            meta = f.metadata
            if "label" not in meta:
                continue
            low, high = meta.get("range", (0, 100_000))
            if isinstance(f.default, float):
                widget = QDoubleSpinBox()
                widget.setDecimals(2)
                widget.setRange(low, high)
                widget.setSingleStep(meta.get("step", 0.1))
                widget.setValue(f.default)
                widget.setToolTip(meta.get("help", ""))
            else:
                widget = _spin(low, high, f.default, meta.get("help", ""))
            if "off" in meta:
                widget.setSpecialValueText(meta["off"])
            fields[f"{name}_{f.name}"] = KindField(name, meta["label"], bool(meta.get("training")), widget)
    return fields


def _spin(low: int, high: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin
