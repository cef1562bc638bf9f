"""`mopeft bench loop`: the annotation loop, measured (issue 21 item 6). A simulated annotator labels a COCO
dataset's images from their ground truth, round after round, and the actions it needs per instance are counted for
four strategies on the same images: (a) clicks only; (b) clicks and a fine-tune after every round; (c) (b) with the
proposals reviewed first; (d) (c) with the next round's images the most uncertain ones (app.autoseg.uncertainty).

Writes DIR/loop.md (the tables), DIR/loop.json (every run, every image) and DIR/loop-<dataset>.png (held-out actions
per instance against the round, a line per strategy).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from app.autoseg.uncertainty import DEFAULT_SCORE, SCORES
from app.bench.adapt import check_training_options, dataset_names
from app.training.finetune.options import add_trainer_options
from app.training.finetune.settings import presets

DEFAULT_STEPS = 60
"""Fine-tuning steps per round: the demo model then trains a round in about 6-18 s on an idle 2-core CPU, and the
three synthetic domains' run in docs/benchmarks.md took 35 minutes on a loaded one."""


def register(sub) -> None:
    p = sub.add_parser("loop", help="actions per instance of a simulated annotator: clicks, fine-tuning, proposals, "
                                    "uncertainty",
                       description="Label every instance of each dataset's images from the ground truth, a round "
                                   "of images at a time, with four strategies: (a) clicks only, (b) a fine-tune "
                                   "after every round, (c) proposals reviewed first, (d) next images by "
                                   "uncertainty; count the actions per instance.")
    p.add_argument("--model", default="demo", help="SAM: demo, vit_b, ... or a checkpoint file")
    p.add_argument("--data", required=True, help="COCO files, comma-separated (one plot each)")
    p.add_argument("--names", help="dataset names, comma-separated (default: from each file, as bench adapt)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of labelling, each followed by a fine-tune "
                                                          "(default 3)")
    p.add_argument("--images-per-round", type=int, default=3, metavar="K", help="images labelled a round (default 3)")
    p.add_argument("--holdout", type=int, default=4, metavar="H",
                   help="images held out to measure each round's model on, the same for every strategy (default 4)")
    p.add_argument("--seeds", type=int, default=2,
                   help="seeds 0..S-1: each shuffles the images (held-out set, order) and seeds the training "
                        "(default 2)")
    p.add_argument("--strategies", default="a,b,c,d", help="of a, b, c, d, comma-separated (default all)")
    p.add_argument("--configs", default="mopeft",
                   help=f"PEFT configurations for the fine-tuning strategies, comma-separated, of: "
                        f"{', '.join(presets())} (default mopeft)")
    p.add_argument("--uncertainty", default=DEFAULT_SCORE, choices=sorted(SCORES),
                   help=f"the score (d) ranks the next images by (default {DEFAULT_SCORE})")
    p.add_argument("--points-per-side", type=int, default=None, metavar="N",
                   help="the proposals' point grid (default: what the app uses for the model, 16 for demo)")
    p.add_argument("--pred-iou-thresh", type=float, default=None, metavar="T",
                   help="keep proposals with a predicted IoU above T (default: what the app uses for the model: "
                        "SAM's 0.88, 0.5 for demo)")
    p.add_argument("--stability-thresh", type=float, default=None, metavar="T",
                   help="keep proposals with a stability score of at least T (default: what the app uses for the "
                        "model: SAM's 0.95, 0.6 for demo)")
    p.add_argument("--accepted-masks", choices=["proposal", "truth"], default="proposal",
                   help="what an instance accepted as proposed trains with: the proposal's mask, as in the app "
                        "(default), or its ground truth")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"fine-tuning steps (default {DEFAULT_STEPS})")
    p.add_argument("--blocks", default="last:4", help="encoder blocks with PEFT modules (default last:4)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the trainer's)")
    add_trainer_options(p)
    p.add_argument("--max-clicks", type=int, default=20, help="clicks an instance may take (default 20)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.add_argument("--out", default="bench-loop", help="folder for loop.md, loop.json and the plots")
    p.set_defaults(run=run, parser=p)


def _check(args) -> tuple[list[str], list[str], list[str]]:
    """The files, their names and the configurations; argparse's error for anything wrong in the options."""
    from app.bench._loop_runs import STRATEGIES

    files = [f.strip() for f in args.data.split(",") if f.strip()]
    given = args.names.split(",") if args.names else None
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not files or (given is not None and len(given) != len(files)):
        args.parser.error("--data needs a file (and --names as many names as files)")
    try:
        names = dataset_names(files, given)
    except ValueError as exc:
        args.parser.error(f"{'--names' if given is not None else '--data'}: {exc}")
    check_training_options(args, configs)
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not args.strategies or any(s not in STRATEGIES for s in args.strategies):
        args.parser.error(f"--strategies takes some of {', '.join(STRATEGIES)}, not {','.join(args.strategies)}")
    if args.rounds < 1 or args.images_per_round < 1 or args.holdout < 1 or args.max_clicks < 1:
        args.parser.error("--rounds, --images-per-round, --holdout and --max-clicks must be at least 1")
    given = {"points_per_side": args.points_per_side, "pred_iou_thresh": args.pred_iou_thresh,
             "stability_score_thresh": args.stability_thresh}
    args.auto = {name: value for name, value in given.items() if value is not None}
    try:
        from app.autoseg import AutoParams

        AutoParams(**args.auto)
    except ValueError as exc:
        args.parser.error(f"--points-per-side, --pred-iou-thresh, --stability-thresh: {exc}")
    return files, names, configs


def proposal_params(arch: str, overrides: dict) -> dict:
    """The proposals' parameters for a model of `arch`: what the app proposes with for it (`params_for`: SAM's
    defaults, the demo model's own), those named in `overrides` replaced."""
    from dataclasses import replace

    from app.services.proposing import params_for

    return replace(params_for(arch), **overrides).to_dict()


def run(args) -> int:
    from app.bench._loop_report import markdown, plot_png
    from app.bench._loop_runs import STRATEGIES, run_dataset
    from app.coco.errors import CocoError
    from app.device import choose_device
    from app.metrics.dataset import load_coco_dataset
    from app.sam.checkpoints import CheckpointError, load_sam

    files, names, configs = _check(args)
    try:
        loaded = load_sam(args.model, device=choose_device(args.device).device)
        datasets = [load_coco_dataset(f) for f in files]
    except (CheckpointError, CocoError, ValueError, OSError) as exc:
        print(f"mopeft bench loop: error: {exc}", file=sys.stderr)
        return 1
    need = args.holdout + args.rounds * args.images_per_round
    short = [f"{n} ({len(d)})" for n, d in zip(names, datasets) if len(d) < need]
    if short:
        print(f"mopeft bench loop: error: {need} images with instances needed ({args.holdout} held out + "
              f"{args.rounds} rounds x {args.images_per_round}), but {', '.join(short)} has fewer", file=sys.stderr)
        return 1
    args.auto_params = proposal_params(loaded.arch, args.auto)
    started = time.perf_counter()
    strategies = [STRATEGIES[s] for s in args.strategies]
    results = {name: run_dataset(loaded.sam, data, strategies, configs, args,
                                 log=lambda line: print(line, file=sys.stderr))
               for name, data in zip(names, datasets)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"model": args.model, "device": str(loaded.sam.device), "rounds": args.rounds,
              "images_per_round": args.images_per_round, "holdout": args.holdout, "seeds": args.seeds,
              "steps": args.steps, "blocks": args.blocks, "kind_lr": args.kind_lr,
              "adapter_dropout": args.adapter_dropout, "configs": configs, "uncertainty": args.uncertainty,
              "proposals": args.auto_params, "accepted_masks": args.accepted_masks,
              "max_clicks": args.max_clicks, "seconds": round(time.perf_counter() - started, 1), "datasets": results}
    (out / "loop.json").write_text(json.dumps(report, indent=1))
    for name, result in results.items():
        plot_png(name, result, args.images_per_round, out / f"loop-{name}.png")
    text = markdown(report)
    (out / "loop.md").write_text(text)
    print(text, end="")
    return 0
