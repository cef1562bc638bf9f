"""A whole fine-tuning run: split, start model, validation before, training, validation after, adapter file.
The model is a SAM 1 or SAM 2.1 (`app.training.family`); the adapter file records which.

`fine_tune` never touches the project database, so it can run in a worker thread while the GUI keeps the
project open for writing; `record_outcome` then stores the result from the thread that owns the project.
"""
from __future__ import annotations

import copy
import time
import traceback
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from app.device import release_cached_memory
from app.metrics.evaluate import evaluate_sam
from app.mopeft import AdapterError, MoPEFTConfig, adapted_copy, load_adapter, wrap, wrap_info
from app.store.project import Project
from app.store.records import RunStatus
from app.training.finetune.events import MetricsEvent, PhaseEvent, TrainingCancelled, TrainingError
from app.training.finetune.examples import model_inputs, split_by_names, split_examples
from app.training.finetune.data_parallel import train_data_parallel
from app.training.finetune.loop import prepare, train_loop
from app.training.finetune.saving import save_or_rescue
from app.training.finetune.selection import KeepBest, one_click_score
from app.training.finetune.settings import TrainSettings


@dataclass
class TrainingOutcome:
    """What a finished run produced. `before` (the model in use) and `after` (the new version) are metric
    summaries of the same validation images, None without any."""

    adapter_path: Path
    config: MoPEFTConfig
    settings: TrainSettings
    before: dict | None
    after: dict | None
    steps: int
    seconds: float
    train_images: int
    validation_images: int
    warnings: list[str] = field(default_factory=list)
    kept_step: int | None = None
    validation_names: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Plain-JSON summary (what `mopeft train --json` prints and the training-run record keeps)."""
        return {"before": self.before, "after": self.after, "adapter": str(self.adapter_path), "steps": self.steps,
                "seconds": round(self.seconds, 2), "train_images": self.train_images,
                "validation_images": self.validation_images, "validation_names": self.validation_names,
                "kept_step": self.kept_step, "warnings": self.warnings}


def images_text(names: list[str], shown: int = 4) -> str:
    """'3 images: a.png, b.png, c.png' (the first `shown` names, then how many more)."""
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return f"{len(names)} image{'s' if len(names) != 1 else ''}: {listed}"


def start_model(base: nn.Module, settings: TrainSettings, start_adapter: Path | None,
                warnings: list[str]) -> nn.Module:
    """A trainable copy of the base model: wrapped fresh, or continuing from `start_adapter` when it fits
    (when it does not, why goes to `warnings`). The base model is left as it was."""
    return _continued(base, settings, start_adapter, warnings) or _fresh(base, settings)


def _continued(base: nn.Module, settings: TrainSettings, start_adapter: Path | None,
               warnings: list[str]) -> nn.Module | None:
    """A copy of `base` with `start_adapter` loaded when the settings continue from it and its config fits."""
    if wrap_info(base) is not None:
        raise ValueError("training needs the plain base SAM, not a wrapped one")
    if not settings.continue_from_active or start_adapter is None:
        return None
    sam = copy.deepcopy(base)
    try:
        load_adapter(sam, start_adapter)
    except AdapterError as exc:
        warnings.append(f"started from base SAM: {exc}")
        return None
    if wrap_info(sam).config == settings.mopeft:
        return sam
    warnings.append(f"started from base SAM: the active adapter {start_adapter.name} uses another config")
    return None


def _fresh(base: nn.Module, settings: TrainSettings) -> nn.Module:
    sam = copy.deepcopy(base)
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)
        return wrap(sam, settings.mopeft)


def _in_use(base: nn.Module, start_adapter: Path | None) -> nn.Module:
    """The model the annotator runs now: `base` with the active adapter, or `base` when there is none or it
    cannot be used (the window then runs the base model too)."""
    if start_adapter is None:
        return base
    try:
        return adapted_copy(base, start_adapter)
    except (AdapterError, OSError, ValueError):
        return base


def adapt(sam: nn.Module, examples, settings: TrainSettings, on_event: Callable[[object], None] | None = None,
          cancel: Callable[[], bool] | None = None, keep_best: KeepBest | None = None) -> int:
    """Train the PEFT parameters of a wrapped `sam` (see `start_model`) on every one of `examples` (EvalImages);
    returns the steps done. Raises TrainingCancelled or TrainingError."""
    emit = on_event or (lambda event: None)
    emit(PhaseEvent("preparing training images"))
    data = prepare(sam, [model_inputs(sam, example) for example in examples], settings.precision)
    if settings.processes > 1:
        emit(PhaseEvent(f"training in {settings.processes} processes"))
        return train_data_parallel(sam, data, settings, settings.processes, emit, cancel, keep_best)
    emit(PhaseEvent("training"))
    return train_loop(sam, data, settings, on_step=emit, cancel=cancel, keep_best=keep_best)


def fine_tune(base: nn.Module, examples, settings: TrainSettings, adapters_dir: Path,
              start_adapter: Path | None = None, on_event: Callable[[object], None] | None = None,
              cancel: Callable[[], bool] | None = None, metadata: dict | None = None,
              held_out: Collection[str] | None = None) -> TrainingOutcome:
    """Fine-tune a copy of `base` on `examples` (EvalImages) and save the adapter into `adapters_dir`.

    The examples are split by image into training and validation: the ones named in `held_out` (the
    project's fixed split, `update_split`) are validated on, or without it a seeded fifth. The validation
    images are scored before (with the model in use: base SAM with `start_adapter`, whether or not training
    starts from it) and after training, and with `settings.select_every` also during it, to keep the
    best-scoring weights (the "after" score is then of the images that chose them). The base model is left
    as it was. Raises TrainingCancelled, TrainingError (nothing saved in the project in either case; when only the
    save failed, AdapterSaveError says where the weights went instead). However the run ends, the GPU memory its
    model copy and data held is given back to the driver (`release_cached_memory`).
    """
    try:
        return _fine_tune(base, examples, settings, adapters_dir, start_adapter, on_event, cancel, metadata, held_out)
    except BaseException as exc:
        traceback.clear_frames(exc.__traceback__)  # the frames would keep the run's model and data alive
        raise
    finally:
        if isinstance(base, nn.Module):
            release_cached_memory(base.device)


def _fine_tune(base: nn.Module, examples, settings: TrainSettings, adapters_dir: Path, start_adapter: Path | None,
               on_event: Callable[[object], None] | None, cancel: Callable[[], bool] | None,
               metadata: dict | None, held_out: Collection[str] | None) -> TrainingOutcome:
    emit = on_event or (lambda event: None)
    started = time.perf_counter()
    warnings: list[str] = []
    examples = list(examples)
    split = split_examples(examples, seed=settings.seed) if held_out is None else split_by_names(examples, held_out)
    if not split.train:
        if split.validation:
            raise TrainingError("nothing to train on: every annotated image that could be read is a validation "
                                "image; annotate another image")
        raise TrainingError("nothing to train on: accept at least one instance first")
    names = sorted(e.name for e in split.validation)
    if not split.validation:
        warnings.append("only one annotated image: trained on it, no validation image to measure progress")

    def validate(sam: nn.Module, when: str) -> dict | None:
        if not split.validation:
            return None
        emit(PhaseEvent(f"validating ({when}) on {images_text(names)}"))
        result = evaluate_sam(sam, split.validation, cancel=cancel)
        if result.cancelled:
            raise TrainingCancelled(f"cancelled while validating ({when})")
        metrics = result.summary()
        emit(MetricsEvent(when, metrics))
        return metrics

    sam = _continued(base, settings, start_adapter, warnings)
    continued = sam is not None
    sam = sam or _fresh(base, settings)
    before = validate(sam if continued else _in_use(base, start_adapter), "before")
    keep_best = None
    if settings.select_every and split.validation:
        keep_best = KeepBest(one_click_score(split.validation), settings.select_every)
    steps = adapt(sam, split.train, settings, emit, cancel, keep_best)
    after = validate(sam, "after")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    # the random suffix keeps two runs finished in the same second from sharing (and overwriting) a file
    kinds = "+".join(settings.mopeft.kinds)
    path = Path(adapters_dir) / f"adapter-{stamp}-{uuid.uuid4().hex[:6]}-{kinds}.safetensors"
    outcome = TrainingOutcome(path, sam._mopeft.config, settings, before, after, steps,
                              time.perf_counter() - started, len(split.train), len(split.validation), warnings,
                              keep_best.best_step if keep_best else None, names)
    save_or_rescue(sam, path, {**(metadata or {}), **outcome.summary(), "settings": settings.to_dict()})
    return outcome


def record_outcome(project: Project, outcome: TrainingOutcome, base_model: str, run_id: int,
                   activate: bool = True):
    """Store the adapter version, make it the active one when `activate` (see `decide_activation`) and close
    the training run, in one transaction."""
    with project.transaction():
        version = project.adapters.add(outcome.adapter_path, base_model, outcome.settings.to_dict(),
                                       {"before": outcome.before, "after": outcome.after, "steps": outcome.steps,
                                        "validation_names": outcome.validation_names}, run_id)
        if activate:
            project.adapters.set_active(version.id)
        project.training_runs.finish(run_id, RunStatus.FINISHED, {**outcome.summary(), "activated": activate})
    return version
