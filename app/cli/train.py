"""`mopeft train`: fine-tune MoPEFT on a project's accepted instances, headless."""
from __future__ import annotations

import json
import sys

from app.cli._trainer_options import add_trainer_options


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a MoPEFT adapter on a project's accepted instances")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--model", help="SAM to adapt: a registered name (demo, vit_b, ...) or a checkpoint file; "
                                   "default: the model of the project's latest adapter, else demo")
    p.add_argument("--kinds", default="lora,prefix,adapter", help="PEFT kinds, comma-separated")
    p.add_argument("--blocks", default="last:4", help="'all', 'last:N' or indices like 8,9,10,11")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    add_trainer_options(p)
    p.add_argument("--select-every", type=int, default=0, metavar="N",
                   help="score the validation images every N steps and keep the best weights, not the last "
                        "(default 0: keep the last)")
    p.add_argument("--restart", action="store_true", help="start from base SAM, not from the active adapter")
    p.add_argument("--skip-unedited", action="store_true",
                   help="leave out the instances accepted unedited (SAM's mask for one click or box, as it came)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.add_argument("--json", action="store_true", help="end with one JSON line: before, after, adapter, steps, seconds")
    p.set_defaults(run=run)


def _progress(event) -> None:
    from app.trainer.events import MetricsEvent, PhaseEvent, StepEvent

    if isinstance(event, PhaseEvent):
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


def run(args) -> int:
    from app.device import choose_device
    from app.sam.checkpoints import CheckpointError, load_sam
    from app.store.errors import StoreError
    from app.store.project import Project
    from app.store.records import RunStatus
    from app.trainer.events import TrainingCancelled, TrainingError
    from app.trainer.examples import collect_examples
    from app.trainer.run import fine_tune, record_outcome
    from app.trainer.settings import TrainSettings, parse_blocks, parse_kind_lr

    try:
        settings = TrainSettings(kinds=args.kinds.split(","), blocks=parse_blocks(args.blocks), steps=args.steps,
                                 lr=args.lr, seed=args.seed, continue_from_active=not args.restart,
                                 kind_lr=parse_kind_lr(args.kind_lr), adapter_dropout=args.adapter_dropout,
                                 select_every=args.select_every)
        settings.mopeft_config()
        project = Project.open(args.project)
    except (ValueError, StoreError) as exc:
        print(f"mopeft train: {exc}", file=sys.stderr)
        return 2
    with project:
        versions = project.adapters.list()
        model = args.model or (versions[-1].base_model if versions else "demo")
        try:
            loaded = load_sam(model, device=choose_device(args.device).device)
        except (CheckpointError, ValueError) as exc:
            print(f"mopeft train: {exc}", file=sys.stderr)
            return 2
        _say_unedited(project.instances.unedited_count(), args.skip_unedited)
        examples, warnings = collect_examples(project, skip_unedited=args.skip_unedited)
        for warning in warnings:
            print(f"[train] {warning}", file=sys.stderr)
        active = project.adapters.active()
        start = project.path_of(active.path) if active and active.base_model == model else None
        run_record = project.training_runs.start({**settings.to_dict(), "model": model})
        try:
            outcome = fine_tune(loaded.sam, examples, settings, project.adapters_dir, start, on_event=_progress,
                                metadata={"base_model": model})
        except (TrainingError, TrainingCancelled, KeyboardInterrupt) as exc:
            status = RunStatus.FAILED if isinstance(exc, TrainingError) else RunStatus.CANCELLED
            project.training_runs.finish(run_record.id, status, {"error": str(exc) or "interrupted"})
            print(f"mopeft train: {status.value}: {exc or 'interrupted'}; the active adapter is unchanged",
                  file=sys.stderr)
            return 1
        record_outcome(project, outcome, model, run_record.id)
    for warning in outcome.warnings:
        print(f"[train] {warning}", file=sys.stderr)
    print(f"adapter saved: {outcome.adapter_path} ({outcome.steps} steps, {outcome.seconds:.1f} s)")
    if args.json:
        print(json.dumps(outcome.summary()))
    return 0
