"""`mopeft train`: fine-tune MoPEFT on a project's accepted instances, headless.

Whatever stops a run (bad arguments, unreadable images, a non-finite loss, a full disk at save, Ctrl+C) ends
in one line on stderr; a run that started is marked failed or cancelled in the project, and the active adapter
stays as it was.
"""
from __future__ import annotations

import json
import signal
import sys
import threading

from app.cli._project import add_project_arguments, open_project
from app.training.finetune.options import add_trainer_options

CANCELLED = 130
"""Exit status of a run stopped by Ctrl+C, as shells report a process ended by SIGINT."""


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a MoPEFT adapter on a project's accepted instances")
    add_project_arguments(p)
    p.add_argument("--model", help="SAM to adapt: a registered name (demo, vit_b, ...) or a checkpoint file; "
                                   "default: the model of the project's latest adapter, else demo")
    p.add_argument("--kinds", help="PEFT kinds, comma-separated, of the registered ones (app.mopeft.KIND_REGISTRY); "
                                   "default: the MoPEFT mixture lora,prefix,adapter")
    p.add_argument("--blocks", default="last:4", help="'all', 'last:N' or indices like 8,9,10,11")
    p.add_argument("--steps", type=int, default=200, help="optimiser steps, at least 1 (default 200)")
    p.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate, above 0 (default 3e-3)")
    p.add_argument("--seed", type=int, default=0)
    add_trainer_options(p)
    p.add_argument("--select-every", type=int, default=0, metavar="N",
                   help="score the validation images every N steps and keep the best weights, not the last "
                        "(default 0: keep the last)")
    p.add_argument("--restart", action="store_true", help="start from base SAM, not from the active adapter")
    p.add_argument("--skip-unedited", action="store_true",
                   help="leave out the instances accepted unedited (SAM's mask for one click or box, as it came)")
    p.add_argument("--activate", choices=["if-better", "always", "never"], default="if-better",
                   help="make the new version the active adapter: only when it validated at least as well as the "
                        "one in use (default), always, or never")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.add_argument("--json", action="store_true", help="end with one JSON line: before, after, adapter, steps, seconds")
    p.add_argument("--queue", action="store_true", help="shared project: queue the run for `mopeft worker` (a GPU "
                                                        "machine) instead of running it here")
    p.set_defaults(run=run)


def _progress(event, told: list[str]) -> None:
    """Print a run's event on stderr; warnings also go to `told`."""
    from app.training.finetune.events import MetricsEvent, PhaseEvent, StepEvent, WarningEvent

    if isinstance(event, WarningEvent):
        told.append(event.message)
        print(f"[train] {event.message}", file=sys.stderr)
    elif isinstance(event, PhaseEvent):
        print(f"[train] {event.message}", file=sys.stderr)
    elif isinstance(event, MetricsEvent):
        m = event.metrics
        print(f"[train] {event.when}: 1-click mIoU {m['miou_1click']:.3f}, NoC@85 {m['noc85']:.2f}", file=sys.stderr)
    elif isinstance(event, StepEvent) and (event.step % 10 == 0 or event.step == event.steps):
        print(f"[train] step {event.step}/{event.steps} loss {event.loss:.4f} lr {event.lr:.2e} "
              f"eta {event.eta_seconds:.0f}s", file=sys.stderr)


def _say_unedited(count, skipping: bool) -> None:
    """Print how many instances were accepted unedited, before the run."""
    unknown = f"; {count.unknown} accepted before this was recorded are kept" if count.unknown else ""
    advice = "leaving them out" if skipping else "--skip-unedited leaves them out"
    print(f"[train] {count.unedited} of {count.total} instances were accepted unedited ({advice}){unknown}",
          file=sys.stderr)


class _CtrlC:
    """While entered, the first Ctrl+C asks the run to stop after its current step (the second stops at once)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._previous = None

    def __enter__(self) -> "_CtrlC":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        if self.requested.is_set():
            raise KeyboardInterrupt
        self.requested.set()
        print("[train] stopping after this step (Ctrl+C again to stop at once)", file=sys.stderr)


def _fail(message: str) -> int:
    print(f"mopeft train: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from app.device import choose_device
    from app.mopeft.families import encoder_blocks
    from app.models.any_family import load_any_sam
    from app.sam.checkpoints import CHECKPOINTS, CheckpointError
    from app.sam.variants import ARCHS
    from app.store.errors import StoreError
    from app.mopeft import mixture
    from app.training.finetune.settings import TrainSettings, parse_blocks, parse_kind_lr

    try:
        kinds = args.kinds.split(",") if args.kinds else mixture()
        settings = TrainSettings.from_dict({
            "kinds": kinds, "blocks": parse_blocks(args.blocks), "adapter_dropout": args.adapter_dropout,
            "steps": args.steps, "lr": args.lr, "seed": args.seed, "continue_from_active": not args.restart,
            "kind_lr": parse_kind_lr(args.kind_lr), "select_every": args.select_every})
        project = open_project(args)
    except (ValueError, StoreError) as exc:
        return _fail(str(exc))
    with project:
        versions = project.adapters.list()
        model = args.model or (versions[-1].base_model if versions else "demo")
        if args.queue:
            if not project.on_server:
                return _fail(f"--queue is for a shared project (postgresql://...); {project.location} is a folder, "
                             "trained here")
            return _queue(project, model, settings, args)
        try:
            if model in CHECKPOINTS and CHECKPOINTS[model].arch in ARCHS:  # a registered model's depth is known before its weights are read
                settings.check_depth(ARCHS[CHECKPOINTS[model].arch].depth)
            loaded = load_any_sam(model, device=choose_device(args.device).device)
            settings.check_depth(len(encoder_blocks(loaded.sam)))
        except (CheckpointError, ValueError) as exc:
            return _fail(f"{model}: {exc}" if model not in str(exc) else str(exc))
        return _train(project, loaded.sam, model, settings, args)


def _queue(project, model: str, settings, args) -> int:
    """Queue the run for a worker; the exit status."""
    from app.services.jobs import fine_tune_request
    from app.services.training_run import cannot_train
    from app.store.claims import annotator_name

    problem = cannot_train(project, args.skip_unedited)
    if problem:
        return _fail(problem)
    job = project.jobs.queue(fine_tune_request(model, settings, args.skip_unedited, args.activate), annotator_name())
    print(f"job {job.id} queued: `mopeft worker --project {project.location}` on a GPU machine runs it")
    return 0


def _train(project, sam, model: str, settings, args) -> int:
    """Run and record one fine-tuning of `sam` on `project` (`FineTuneRun`, as the window does); the exit status."""
    from app.services.training_run import FineTuneRun, cannot_train
    from app.store.errors import StoreError
    from app.training.finetune.events import TrainingCancelled

    _say_unedited(project.instances.unedited_count(), args.skip_unedited)
    problem = cannot_train(project, args.skip_unedited)
    if problem:
        return _fail(problem)
    try:
        run = FineTuneRun.begin(project, model, settings, args.skip_unedited)
    except StoreError as exc:
        return _fail(f"could not record the training run: {exc}")
    unchanged, told = "the active adapter is unchanged", []
    try:
        with _CtrlC() as ctrl_c:
            outcome = run.run(sam, on_event=lambda event: _progress(event, told), cancel=ctrl_c.requested.is_set,
                              project=project)
    except (TrainingCancelled, KeyboardInterrupt) as exc:
        run.fail(project, str(exc) or "interrupted", cancelled=True)
        print(f"mopeft train: cancelled ({exc or 'interrupted'}); nothing was saved, {unchanged}", file=sys.stderr)
        return CANCELLED
    except Exception as exc:  # noqa: BLE001 - any failure is one line, a failed run and the old adapter kept
        message = str(exc) if str(exc) else type(exc).__name__
        run.fail(project, message)
        print(f"mopeft train: failed: {message}; {unchanged}", file=sys.stderr)
        return 1
    try:
        finished = run.finish(project, outcome, args.activate)
    except (StoreError, OSError) as exc:
        print(f"mopeft train: failed: the adapter was saved at {outcome.adapter_path} but could not be recorded "
              f"in the project ({exc}); {unchanged}", file=sys.stderr)
        return 1
    for warning in outcome.warnings:
        if warning not in told:
            print(f"[train] {warning}", file=sys.stderr)
    number, decision = finished.number, finished.activation
    print(f"adapter v{number} saved: {outcome.adapter_path} ({outcome.steps} steps, {outcome.seconds:.1f} s)")
    if decision.activate:
        print(f"v{number} {decision.reason}; it is now the active adapter")
    else:
        print(f"v{number} {decision.reason}; {finished.in_use} stays in use (to use v{number} anyway: --activate "
              "always next time, or pick it in the window's versions list)")
    if args.json:
        print(json.dumps({**outcome.summary(), "activated": decision.activate}))
    return 0
