"""`mopeft pretrain-demo`: train the shipped demo SAM from scratch on synthetic shapes (the recipe in docs/demo-model.md)."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("pretrain-demo", help="train the demo SAM from scratch on synthetic shapes",
                       description="Train a SAM from random weights on synthetic `shapes` scenes with SAM's "
                                   "interactive recipe, then report one-click mIoU on held-out shapes, on the "
                                   "hold-out in-domain generator and on the out-of-domain generators. One seed gives the same weights on the same "
                                   "machine and thread count.")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the recipe's)")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this much training time even if steps remain (the schedule is not shortened)")
    p.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                   help="stop after this step, the schedule unchanged: makes again, step for step, a run that "
                        "--minutes cut (the shipped demo model's report says where)")
    p.add_argument("--out", default="demo_sam.pth", help="where to write the weights (default ./demo_sam.pth)")
    p.add_argument("--report", default=None, help="also write the config, history and results as JSON here")
    p.add_argument("--arch", default="demo", help="SAM architecture to train (default demo; tiny for smoke tests)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--eval-scenes", type=int, default=128,
                   help="held-out scenes per domain for the final one-click mIoU (default 128)")
    p.set_defaults(run=run, parser=p)


def run(args) -> int:
    import dataclasses
    import hashlib
    import json
    from pathlib import Path

    from app.device import choose_device
    from app.training.pretrain.run import VALIDATION_SEED, PretrainConfig, config_summary, pretrain, save_state_dict
    from app.sam.variants import ARCHS
    from app.synth.scenes import DOMAINS

    if args.arch not in ARCHS:
        args.parser.error(f"unknown --arch {args.arch!r}; known: {', '.join(ARCHS)}")
    config = PretrainConfig(arch=args.arch, seed=args.seed)
    if args.steps is not None:
        config = dataclasses.replace(config, steps=args.steps)
    try:
        device = choose_device(args.device)
    except ValueError as exc:
        print(f"mopeft pretrain-demo: error: {exc}", file=sys.stderr)
        return 1
    print(f"device: {device.device} ({device.reason})", flush=True)
    try:
        sam, result = pretrain(config, device=device.device, minutes=args.minutes,
                               log=lambda line: print(line, flush=True), stop_after=args.stop_after)
    except ValueError as exc:
        print(f"mopeft pretrain-demo: error: {exc}", file=sys.stderr)
        return 1
    from app.training.pretrain.run import validation_miou

    scores = {d: validation_miou(sam, args.eval_scenes, VALIDATION_SEED, d) for d in DOMAINS}
    path = save_state_dict(sam, args.out)
    data = path.read_bytes()
    print(f"trained {result.steps} steps in {result.seconds / 60:.1f} min")
    for domain, score in scores.items():
        print(f"one-click mIoU {domain:11s} {score:.3f}  ({args.eval_scenes} scenes, seed {VALIDATION_SEED})")
    print(f"wrote {path}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    if args.report:
        report = {"config": config_summary(config), "device": str(device.device), "steps": result.steps,
                  "seconds": round(result.seconds, 1), "one_click_miou": scores, "history": result.history}
        Path(args.report).write_text(json.dumps(report, indent=1))
    return 0
