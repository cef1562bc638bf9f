"""`mopeft eval`: 1-click mIoU, NoC@85 and NoC@90 of a SAM model (optionally with an adapter) on a COCO file;
with --auto, the automatic segmentation's mask AP and mSA (app/cli/_auto_eval.py)."""
from __future__ import annotations

import json
import sys
import time
from typing import TextIO


class _InstanceProgress:
    """`progress(done, total, name)`: `evaluating 12/40 instances  name.png` on one line of a terminal
    (redrawn at most ten times a second), or one line per tenth of the work on a log file."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = stream.isatty()
        self._last = float("-inf")
        self._tenth = -1

    def __call__(self, done: int, total: int, name: str) -> None:
        line = f"evaluating {done}/{total} instances  {name}"
        if self.tty:
            now = time.monotonic()
            if now - self._last >= 0.1 or done == total:
                self._last = now
                self.stream.write(f"\r{line}\033[K" + ("\n" if done == total else ""))
        elif 10 * done // total != self._tenth:
            self._tenth = 10 * done // total
            self.stream.write(line + "\n")
        self.stream.flush()


def register(sub) -> None:
    p = sub.add_parser("eval", help="interactive-segmentation metrics (1-click mIoU, NoC@85, NoC@90) on a COCO file",
                       description="Simulate clicks on every instance of a COCO instances file (the RITM/SAM "
                                   "protocol, see docs/evaluation.md) and print the mean 1-click IoU, NoC@85 and "
                                   "NoC@90. Progress goes to stderr.")
    p.add_argument("--model", required=True,
                   help="registered checkpoint name (demo, vit_b, vit_l, vit_h, sam2.1_hiera_t, _s, _b+, _l) or a "
                        "checkpoint file (SAM 1 or SAM 2.1)")
    p.add_argument("--adapter", help="a MoPEFT adapter file to load into the model")
    p.add_argument("--data", required=True, help="COCO instances JSON; its file_names are relative to its folder")
    p.add_argument("--max-clicks", type=int, default=20, help="clicks per instance, at most (default: 20)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="compute device (default: the best available)")
    p.add_argument("--auto", action="store_true",
                   help="score automatic segmentation instead: COCO mask AP, AP50 and mean segmentation accuracy "
                        "(every category taken as one class)")
    p.add_argument("--points-per-side", type=int, help="with --auto: prompt grid points per side")
    p.add_argument("--json", action="store_true",
                   help='end the output with one JSON line {"miou_1click", "noc85", "noc90", "instances"}; with '
                        '--auto {"ap", "ap50", "msa", "images", "instances"}')
    p.set_defaults(run=run, parser=p)


def run(args) -> int:
    from app.cli._eval_inputs import load_dataset_and_model
    from app.coco.errors import CocoError
    from app.metrics import evaluate_sam

    if args.auto:
        from app.cli._auto_eval import run_auto
        return run_auto(args)
    if args.max_clicks < 1:
        args.parser.error(f"--max-clicks must be at least 1, got {args.max_clicks}")
    started = time.perf_counter()
    inputs = load_dataset_and_model(args)
    if inputs is None:
        return 1
    dataset, device, loaded = inputs
    skipped = [f"{n} {what}" for n, what in ((dataset.crowd_skipped, "crowd annotations"),
                                             (dataset.empty_skipped, "empty masks")) if n]
    print(f"data: {dataset.path}: {len(dataset)} images, {dataset.instance_count} instances"
          + (f" ({', '.join(skipped)} skipped)" if skipped else ""))
    print(f"model: {loaded.arch} from {loaded.path}" + (f" with adapter {args.adapter}" if args.adapter else "")
          + f"; device: {device.reason}")
    if dataset.instance_count == 0:
        print(f"mopeft eval: error: {dataset.path}: no instances to evaluate", file=sys.stderr)
        return 1
    try:
        result = evaluate_sam(loaded.sam, dataset, args.max_clicks, progress=_InstanceProgress(sys.stderr))
    except CocoError as exc:  # an image that fails to load
        print(f"mopeft eval: error: {exc}", file=sys.stderr)
        return 1
    n = args.max_clicks
    print(f"1-click mIoU  {result.miou_1click:.4f}")
    print(f"NoC@85        {result.noc85:.2f}  ({result.failures(0.85)} instances not reached in {n} clicks)")
    print(f"NoC@90        {result.noc90:.2f}  ({result.failures(0.90)} instances not reached in {n} clicks)")
    print(f"instances     {result.count}")
    print(f"time          {result.seconds:.1f} s evaluating ({result.seconds / result.count:.2f} s per instance), "
          f"{time.perf_counter() - started:.1f} s in all")
    if args.json:
        print(json.dumps(result.summary()))
    return 0
