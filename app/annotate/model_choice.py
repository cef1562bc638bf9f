"""Which SAM the annotator runs: the checkpoint or model asked for (SAM 1 or SAM 2.1), else the shipped demo model.

A checkpoint that cannot be loaded is an error the annotator must see (it names the file), and the app
goes on with the demo model. When the demo model's file is missing too, random weights of the demo
architecture keep the app usable; that is a warning, since its masks mean nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from app.device import choose_device
from app.models.any_family import load_any_sam
from app.sam.checkpoints import CHECKPOINTS, CheckpointError, LoadedSam, load_sam, resolve_checkpoint
from app.sam.variants import build_sam

DEMO = "demo"
FAMILY_TITLES = {"sam": "SAM 1", "sam2": "SAM 2.1"}
"""The families' names as the annotator reads them."""


@dataclass(frozen=True)
class ModelChoice:
    """What was asked for: a checkpoint path, or a registered model name ('vit_b', 'sam2.1_hiera_t', 'demo', ...);
    a device."""

    checkpoint: str | None = None
    model: str | None = None
    device: str | None = None

    @property
    def source(self) -> str:
        """The checkpoint path or model name to load (the demo model when none was given)."""
        return self.checkpoint or self.model or DEMO


@dataclass
class ModelLoad:
    """A loaded model and what went wrong on the way: `errors` to show in a message, `warnings` to keep visible."""

    loaded: LoadedSam
    name: str
    device_reason: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model the annotator may choose: its name, its family's title ("SAM 1", "SAM 2.1") and, when it
    cannot be loaded (its file not downloaded, or of the wrong size), why and how to get it."""

    name: str
    family: str
    missing: str | None


def registered_models() -> list[RegisteredModel]:
    """Every registered model, SAM 1's then SAM 2.1's, in registry order, with the state of its file now."""
    models = []
    for family in FAMILY_TITLES:
        for name, info in CHECKPOINTS.items():
            if info.family == family:
                try:
                    resolve_checkpoint(name)
                    missing = None
                except CheckpointError as exc:
                    missing = str(exc)
                models.append(RegisteredModel(name, FAMILY_TITLES[family], missing))
    return models


def load_model(choice: ModelChoice) -> ModelLoad:
    """Load the chosen SAM; fall back to the demo model, then to random demo weights, reporting each step."""
    errors: list[str] = []
    try:
        device = choose_device(choice.device)
    except ValueError as exc:
        errors.append(f"{exc}; using the device chosen automatically.")
        device = choose_device()
    if choice.source != DEMO:
        try:
            loaded = load_any_sam(choice.source, device=device.device)
            return ModelLoad(loaded, choice.source, device.reason)
        except (CheckpointError, ValueError, OSError) as exc:
            errors.append(f"Could not load the SAM checkpoint {exc}\nUsing the demo model instead.")
    try:
        return ModelLoad(load_sam(DEMO, device=device.device), DEMO, device.reason, errors)
    except CheckpointError as exc:
        with torch.random.fork_rng(devices=[]):  # the same random weights every run, so cached embeddings are reused
            torch.manual_seed(0)
            sam = build_sam(DEMO).to(device.device)
        warning = f"RANDOM weights: masks are meaningless\n{exc}"
        return ModelLoad(LoadedSam(sam, DEMO, None), "demo (random weights)", device.reason, errors, [warning])
