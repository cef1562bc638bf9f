"""`mopeft bench adapt`: the paper's experiment. Each PEFT configuration gets the same training budget on each
dataset; all are scored on the dataset's test file with the project's click protocol, next to zero-shot SAM.

Writes DIR/adapt.md (the tables), DIR/adapt.json (every run) and DIR/gates-<dataset>.png (the mean MoPEFT gate
of every block and kind on that dataset's test images).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from app.mopeft.kinds.bottleneck import BottleneckConfig
from app.training.finetune.options import add_trainer_options
from app.training.finetune.settings import parse_kind_lr, presets


def register(sub) -> None:
    p = sub.add_parser("adapt", help="zero-shot vs LoRA, Prefix, bottleneck adapter and MoPEFT on COCO datasets, with gates",
                       description="Fine-tune each PEFT configuration with the same budget on each training file "
                                   "and score it on the matching test file (1-click mIoU, NoC@85).")
    p.add_argument("--model", default="demo", help="SAM to adapt: demo, vit_b, sam2.1_hiera_t, ... or a SAM 1 or SAM 2.1 checkpoint file")
    p.add_argument("--train", required=True, help="training COCO files, comma-separated")
    p.add_argument("--test", required=True, help="test COCO files, comma-separated, one per training file")
    p.add_argument("--names", help="dataset names, comma-separated and unique (default: each training file's stem, "
                                   "or its folder's name for train.json, annotations.json and the like)")
    p.add_argument("--configs", default="mopeft,lora,prefix,adapter",
                   help=f"configurations, comma-separated, of: {', '.join(presets())}")
    p.add_argument("--steps", type=int, default=200, help="training steps per run (default 200)")
    p.add_argument("--seeds", type=int, default=3, help="runs per configuration, seeds 0..K-1 (default 3)")
    p.add_argument("--blocks", default="last:4", help="encoder blocks with PEFT modules (default last:4)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the trainer's)")
    add_trainer_options(p)
    p.add_argument("--holdout", type=int, default=0, metavar="K",
                   help="hold out the last K images of each training file to choose the kept weights (default 0)")
    p.add_argument("--select-every", type=int, default=25, metavar="N",
                   help="with --holdout: score the held-out images every N steps, keep the best weights (default 25)")
    p.add_argument("--max-clicks", type=int, default=20, help="click budget of the NoC protocol (default 20)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.add_argument("--out", default="bench-adapt", help="folder for adapt.md, adapt.json and gate heatmaps")
    p.set_defaults(run=run, parser=p)


GENERIC_STEMS = {"train", "training", "test", "testing", "val", "valid", "validation", "annotations", "instances",
                 "coco", "labels", "data", "dataset"}
"""File stems that say what a file is, not which dataset: such a file is named after its folder."""


def dataset_name(train_file: str) -> str:
    """A short name for a dataset: the JSON's stem, or for a generic stem (train.json, annotations.json,
    instances_train2017.json ...) the nearest folder whose name is not generic too (cells/train/annotations.json:
    cells)."""
    path = Path(train_file)
    for name in (path.stem, *(folder.name for folder in path.parents)):
        lower = name.lower()
        if name and lower not in GENERIC_STEMS and lower.split("_", 1)[0] not in ("instances", "annotations"):
            return name
    return path.stem


def dataset_names(train_files: list[str], given: list[str] | None = None) -> list[str]:
    """The name of each dataset (`given`, or from its training file); ValueError naming the files when two
    datasets would share a name, since the second one's results would replace the first one's."""
    names = [n.strip() for n in given] if given is not None else [dataset_name(t) for t in train_files]
    if "" in names:
        raise ValueError("a dataset name is empty")
    files: dict[str, list[str]] = {}
    for name, train in zip(names, train_files):
        files.setdefault(name, []).append(train)
    twice = {name: trains for name, trains in files.items() if len(trains) > 1}
    if twice:
        clashes = "; ".join(f"{name!r} for {' and '.join(trains)}" for name, trains in twice.items())
        raise ValueError(f"dataset names must be unique, but these share one: {clashes}. "
                         "Name them with --names, e.g. --names cells,texture")
    return names


def check_training_options(args, configs: list[str]) -> None:
    """Refuse (argparse's error, exit 2) unknown --configs, --steps or --seeds below 1, a bad --kind-lr or
    --adapter-dropout; `args.kind_lr` becomes the parsed scales."""
    unknown = [c for c in configs if c not in presets()]
    if unknown or not configs:
        args.parser.error(f"unknown --configs {unknown}; known: {', '.join(presets())}")
    if args.steps < 1 or args.seeds < 1:
        args.parser.error("--steps and --seeds must be at least 1")
    try:
        args.kind_lr = parse_kind_lr(args.kind_lr)
    except ValueError as exc:
        args.parser.error(f"--kind-lr: {exc}")
    try:
        BottleneckConfig(dropout=args.adapter_dropout)
    except ValueError as exc:
        args.parser.error(f"--adapter-dropout: {exc}")


def run(args) -> int:
    from app.bench._adapt_runs import DatasetPair, run_benchmark
    from app.coco.errors import CocoError
    from app.device import choose_device
    from app.models.any_family import load_any_sam
    from app.sam.checkpoints import CheckpointError

    trains, tests = args.train.split(","), args.test.split(",")
    given = args.names.split(",") if args.names else None
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if len(trains) != len(tests) or (given is not None and len(given) != len(trains)):
        args.parser.error("--train, --test (and --names) need the same number of entries")
    try:
        names = dataset_names(trains, given)
    except ValueError as exc:
        args.parser.error(f"{'--names' if given is not None else '--train'}: {exc}")
    check_training_options(args, configs)
    if args.holdout < 0 or args.select_every < 1:
        args.parser.error("--holdout must be at least 0 and --select-every at least 1")
    try:
        loaded = load_any_sam(args.model, device=choose_device(args.device).device)
        pairs = [DatasetPair.load(name, train, test) for name, train, test in zip(names, trains, tests)]
    except (CheckpointError, CocoError, ValueError, OSError) as exc:
        print(f"mopeft bench adapt: error: {exc}", file=sys.stderr)
        return 1
    short = [f"{p.name} ({len(p.train)})" for p in pairs if len(p.train) <= args.holdout]
    if short:
        print(f"mopeft bench adapt: error: --holdout {args.holdout} leaves no training image in {', '.join(short)}",
              file=sys.stderr)
        return 1
    started = time.perf_counter()
    results = run_benchmark(loaded.sam, pairs, configs, args, log=lambda line: print(line, file=sys.stderr))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"model": args.model, "device": str(loaded.sam.device), "steps": args.steps, "seeds": args.seeds,
              "blocks": args.blocks, "kind_lr": args.kind_lr,
              "adapter_dropout": args.adapter_dropout, "holdout": args.holdout,
              "select_every": args.select_every if args.holdout else None,
              "seconds": round(time.perf_counter() - started, 1), "datasets": results}
    (out / "adapt.json").write_text(json.dumps(report, indent=1))
    from app.bench._adapt_report import gate_heatmap_png, markdown

    for name, result in results.items():
        if result.get("gates"):
            gate_heatmap_png(result["gates"], f"{name}: mean MoPEFT gates", out / f"gates-{name}.png")
    text = markdown(report)
    (out / "adapt.md").write_text(text)
    print(text, end="")
    return 0
