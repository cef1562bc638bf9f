"""Proposals > Proposal settings…: the automatic segmentation's main parameters for the model in use, kept per
architecture in the window settings (a value found there that is not valid is set aside for the defaults)."""
from __future__ import annotations

import json
from dataclasses import replace

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox,
                               QVBoxLayout, QWidget)

from app.services.proposing import AutoParams, params_for

KEY = "proposals/params/{arch}"


def saved_params(settings: QSettings, arch: str) -> AutoParams:
    """The parameters kept for `arch`, or `params_for(arch)` when none are kept or what is kept is not valid."""
    text = settings.value(KEY.format(arch=arch))
    if not text:
        return params_for(arch)
    try:
        return AutoParams.from_dict(json.loads(str(text)))
    except (TypeError, ValueError):
        return params_for(arch)


def keep_params(settings: QSettings, arch: str, params: AutoParams) -> None:
    """Keep `params` for `arch`."""
    settings.setValue(KEY.format(arch=arch), json.dumps(params.to_dict()))


def _unit(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    return box


def _count(value: int, least: int, most: int, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(least, most)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class ProposalSettingsDialog(QDialog):
    """Edits `params` for the model `arch`; `params()` after OK is what to use. Restore Defaults puts back the
    model's defaults (`params_for`)."""

    def __init__(self, arch: str, params: AutoParams, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Proposal settings")
        self._arch, self._base = arch, params
        self.points = _count(params.points_per_side, 1, 128, " per side")
        self.predicted_iou = _unit(params.pred_iou_thresh)
        self.stability = _unit(params.stability_score_thresh)
        self.min_area = _count(params.min_mask_region_area, 0, 1_000_000, " px")
        self.crop_layers = _count(params.crop_n_layers, 0, 3)
        self.overlap = _unit(params.accepted_overlap)
        form = QFormLayout()
        form.addRow("Grid of prompt points:", self.points)
        form.addRow("Keep masks with a predicted IoU above:", self.predicted_iou)
        form.addRow("… and a stability of at least:", self.stability)
        form.addRow("Remove holes and islands smaller than:", self.min_area)
        form.addRow("Crop layers (finer search, slower):", self.crop_layers)
        form.addRow("Leave out a mask with more of its area inside accepted instances than:", self.overlap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.restore_button = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        self.restore_button.clicked.connect(lambda: self._show(params_for(arch)))
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"For the {arch} model; used from the next run (P, Shift+P)."))
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _show(self, params: AutoParams) -> None:
        self._base = params
        self.points.setValue(params.points_per_side)
        self.predicted_iou.setValue(params.pred_iou_thresh)
        self.stability.setValue(params.stability_score_thresh)
        self.min_area.setValue(params.min_mask_region_area)
        self.crop_layers.setValue(params.crop_n_layers)
        self.overlap.setValue(params.accepted_overlap)

    def params(self) -> AutoParams:
        """The parameters shown (those the dialog does not show are kept as they were)."""
        return replace(self._base, points_per_side=self.points.value(), pred_iou_thresh=self.predicted_iou.value(),
                       stability_score_thresh=self.stability.value(), min_mask_region_area=self.min_area.value(),
                       crop_n_layers=self.crop_layers.value(), accepted_overlap=self.overlap.value())
