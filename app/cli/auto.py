"""`mopeft auto`: automatic proposals for a project's images, stored as pending proposals, headless.

The model is the base model plus the project's active adapter version, with ModelSession's fallback: an adapter
that cannot be used (or was trained on another base model) leaves the base model running, said on stderr, and the
proposals record that. Each image's proposals replace its pending ones in one transaction, so Ctrl+C (exit 130)
leaves every image either as it was or with its new proposals. The images are chosen and proposed on by
app.services.proposing, as in the window.
"""
from __future__ import annotations

import json
import sys

from app.cli._project import add_project_arguments, open_project

CANCELLED = 130


def register(sub) -> None:
    p = sub.add_parser("auto", help="propose instances automatically on a project's images (pending proposals)")
    add_project_arguments(p)
    p.add_argument("--model", help="SAM 1 or SAM 2.1: a registered name (demo, vit_b, sam2.1_hiera_t, ...) or a "
                                   "checkpoint file; default: the "
                                   "active adapter's base model, else the latest adapter's, else demo")
    p.add_argument("--images", choices=["unlabelled", "all", "stale"], default="unlabelled",
                   help="unlabelled: images without instances (default); all; stale: images whose pending "
                        "proposals another adapter version made (redoes them)")
    p.add_argument("--points-per-side", type=int, help="prompt grid points per side (default: app.autoseg's 32)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.add_argument("--json", action="store_true", help="end with one JSON line: images, proposals, seconds")
    p.set_defaults(run=run)


def _fail(message: str, code: int = 2) -> int:
    print(f"mopeft auto: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    from app.store.errors import StoreError

    if args.points_per_side is not None and args.points_per_side < 1:
        return _fail(f"--points-per-side must be at least 1, got {args.points_per_side}")
    try:
        project = open_project(args)
    except StoreError as exc:
        return _fail(str(exc))
    with project:
        try:
            proposer = _engine(project, args)
        except (ValueError, OSError) as exc:      # CheckpointError is a ValueError
            return _fail(str(exc))
        return _propose_all(project, proposer, args)


def _engine(project, args):
    """The proposer running the model and the active adapter version (when it can)."""
    from app.annotate.model_choice import ModelLoad
    from app.device import choose_device
    from app.models.any_family import load_any_sam
    from app.services.model_session import ModelSession, usable_adapter
    from app.services.proposing import Proposer, version_of

    active, versions = project.adapters.active(), project.adapters.list()
    model = args.model or (active.base_model if active else versions[-1].base_model if versions else "demo")
    device = choose_device(args.device)
    session = ModelSession(None, disk_cache=False)
    adapter, problem = usable_adapter(project, model)
    session.use_adapter(adapter)
    switch = session.load(lambda: ModelLoad(load_any_sam(model, device=device.device), model, device.reason))
    if problem:
        print(f"[auto] {' '.join(problem.split())}", file=sys.stderr)
    elif active is not None and adapter is None:
        print(f"[auto] the active adapter was trained on {active.base_model}, not {model}: running {model} alone",
              file=sys.stderr)
    if switch.adapter_problem:
        print(f"[auto] {switch.adapter_problem}", file=sys.stderr)
    print(f"[auto] model {model}" + (f" with adapter {switch.adapter}" if switch.adapter else "")
          + f"; device: {device.reason}", file=sys.stderr)
    return Proposer(switch.engine, model, version_of(project, switch.adapter))


class _Report:
    """Prints each image's line on stderr and counts the images that have new proposals."""

    def __init__(self) -> None:
        self.stored = 0

    def __call__(self, event) -> None:
        from app.services.proposing import ImageProposed, ImageSkipped

        if isinstance(event, ImageSkipped):
            print(f"[auto] {event.n}/{event.total} {event.image.path}: skipped, {event.reason}", file=sys.stderr)
        elif isinstance(event, ImageProposed):
            self.stored += 1
            print(f"[auto] {event.n}/{event.total} {event.image.path}: {len(event.proposals)} proposals "
                  f"({event.seconds:.1f} s)", file=sys.stderr)


def _propose_all(project, proposer, args) -> int:
    from app.services import proposing
    from app.store.errors import StoreError

    params = None if args.points_per_side is None else proposing.AutoParams(points_per_side=args.points_per_side)
    report = _Report()
    try:
        summary = proposing.propose_images(project, proposer, proposing.choose_images(project, args.images), params,
                                           on_event=report)
    except (KeyboardInterrupt, proposing.ProposingCancelled):
        return _fail(f"cancelled; {report.stored} image(s) have new proposals, the others are as they were",
                     CANCELLED)
    except StoreError as exc:
        return _fail(f"{exc}; {report.stored} image(s) have new proposals, the others are as they were", 1)
    skipped = [path for path, _ in summary.skipped]
    print(f"{summary.images} images, {summary.proposals} proposals stored in {summary.seconds:.1f} s"
          + (f"; {len(skipped)} skipped: {', '.join(skipped)}" if skipped else ""))
    if args.json:
        print(json.dumps({"images": summary.images, "proposals": summary.proposals,
                          "seconds": round(summary.seconds, 3), "skipped": skipped}))
    return 1 if skipped and not summary.images else 0
