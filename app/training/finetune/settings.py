"""TrainSettings: what a fine-tuning run does; JSON-able so it is stored with the run and the adapter."""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field

from app.device import check_precision
from app.mopeft import KIND_REGISTRY, MoPEFTConfig, mixture

DEFAULT_BLOCKS = "last:4"


def presets() -> dict[str, list[str]]:
    """The choices offered to users: "mopeft", the full gated mixture, or one offered PEFT kind alone."""
    return {"mopeft": mixture(), **{name: [name] for name, kind in KIND_REGISTRY.items() if kind.offered}}


KIND_LR = {"lora": 0.3, "prefix": 10.0, "gate": 1.0}
"""Default learning-rate scale per kind: at the shared rate the prefix vectors barely move in a short run
(`mopeft bench adapt` on the demo model: Prefix only 0.33 -> 0.44 one-click mIoU on texture with 10x), and
LoRA, which fits first, holds the mixture in its own solution where the adapter's is better (texture 0.43 ->
0.49 at 0.3x; docs/benchmarks-history.md). "gate" applies to every kind's gates: at 10x the prefix gates pinned at
exactly 1.0 (float32) within 150 steps on the demo model, where their gradient is zero and they could never
close again."""

def parse_blocks(text: str) -> str | list[int]:
    """Blocks as typed by a user: 'all', 'last:N' or indices like '8,9,10,11'; ValueError naming the text."""
    text = text.strip()
    if text == "all" or text.startswith("last:"):
        return text
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ValueError(f"blocks {text!r} is not 'all', 'last:N' or a list like 8,9,10,11") from None


def kind_lr_text(scales: dict[str, float]) -> str:
    """Learning-rate scales as `parse_kind_lr` reads them: 'lora=0.3,prefix=10,gate=1'."""
    return ",".join(f"{kind}={scale:g}" for kind, scale in scales.items())


def parse_kind_lr(text: str) -> dict[str, float]:
    """Learning-rate scales as typed by a user, 'lora=0.3,prefix=10', laid over `KIND_LR`; ValueError naming
    the part that is not KIND=SCALE with a known kind (or "gate") and a finite scale >= 0."""
    names = (*KIND_REGISTRY, "gate")
    scales = dict(KIND_LR)
    for part in (p.strip() for p in text.split(",") if p.strip()):
        kind, _, value = (s.strip() for s in part.partition("="))
        try:
            scale = float(value)
        except ValueError:
            scale = float("nan")
        if kind not in names or not 0 <= scale < math.inf:
            raise ValueError(f"kind learning rate {part!r} is not KIND=SCALE with KIND one of "
                             f"{', '.join(names)} and SCALE a number >= 0")
        scales[kind] = scale
    return scales


@dataclass
class TrainSettings:
    """Settings of one fine-tuning run.

    mopeft: the MoPEFT config to wrap SAM with: the kinds and their sizes and training options (e.g. the
        adapter dropout), the blocks ("last:N" enables the cached path) and where the gates start.
    steps: optimiser steps; lr: AdamW learning rate; images_per_step and objects_per_image: batch size.
    max_clicks: correction clicks simulated after the first prompt.
    kind_lr: learning-rate scale per PEFT kind ({"prefix": 10.0}: prefix parameters train 10x faster); the key
        "gate" gives all gates their own scale (otherwise a gate follows its kind).
    select_every: with validation images, score them (one-click mIoU) every this many steps and keep the best
        weights rather than the last (0: keep the last).
    continue_from_active: start from the project's active adapter (when its config matches) rather than base SAM.
    precision: "auto", "fp32" or "bf16" autocast of the forward pass (None: $MOPEFT_PRECISION, else auto;
        `app.device.choose_precision`); the losses are always float32.
    seed: makes the data order, the prompts, the adapters' dropout and the initial PEFT weights reproducible
        (and the split, when no fixed validation split is given; see `app.training.finetune.validation`).
    processes: training processes, data-parallel (`app.training.finetune.data_parallel`): one per GPU, each
        step then trains on `processes x images_per_step` images.
    """

    mopeft: MoPEFTConfig = field(default_factory=lambda: MoPEFTConfig(blocks=DEFAULT_BLOCKS))
    steps: int = 200
    lr: float = 3e-3
    images_per_step: int = 2
    objects_per_image: int = 8
    max_clicks: int = 2
    kind_lr: dict[str, float] = field(default_factory=lambda: dict(KIND_LR))
    select_every: int = 0
    continue_from_active: bool = True
    precision: str | None = None
    seed: int = 0
    processes: int = 1

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, not {self.steps}")
        if not 0 < self.lr < math.inf:
            raise ValueError(f"the learning rate must be a finite number above 0, not {self.lr}")
        check_precision(self.precision)
        if self.processes < 1:
            raise ValueError(f"processes must be at least 1, not {self.processes}")
        if self.select_every < 0:
            raise ValueError(f"select_every must be 0 (keep the last weights) or a number of steps, "
                             f"not {self.select_every}")

    def check_depth(self, depth: int) -> None:
        """ValueError naming the blocks when they do not fit an encoder with `depth` blocks."""
        self.mopeft.block_indices(depth)

    def to_dict(self) -> dict:
        """Plain, flat JSON form, for the training-run record and the adapter version: the MoPEFT config's
        keys (kinds, blocks, gate_bias, lora_rank, ...) beside the run's."""
        run = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "mopeft"}
        if run["precision"] is None:  # not chosen: left out, so settings read as earlier versions wrote them
            del run["precision"]
        if run["processes"] == 1:  # likewise
            del run["processes"]
        return copy.deepcopy({**self.mopeft.to_dict(), **run})

    @classmethod
    def from_dict(cls, data: dict) -> "TrainSettings":
        """Settings from `to_dict`'s form, also as stored by earlier versions; ValueError on unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)} - {"mopeft"}
        run = {k: v for k, v in data.items() if k in names}
        mopeft = {"blocks": DEFAULT_BLOCKS, **{k: v for k, v in data.items() if k not in names}}
        return cls(mopeft=MoPEFTConfig.from_dict(mopeft), **run)
