"""`mopeft auto`: automatic proposals for a project's images, stored as pending proposals, headless.

The model is the base model plus the project's active adapter version, with ModelSession's fallback: an adapter
that cannot be used (or was trained on another base model) leaves the base model running, said on stderr, and the
proposals record that. Each image's proposals replace its pending ones in one transaction, so Ctrl+C (exit 130)
leaves every image either as it was or with its new proposals.
"""
from __future__ import annotations

import json
import sys
import time

from app.cli._project import add_project_arguments, open_project

CANCELLED = 130


def register(sub) -> None:
    p = sub.add_parser("auto", help="propose instances automatically on a project's images (pending proposals)")
    add_project_arguments(p)
    p.add_argument("--model", help="SAM: a registered name (demo, vit_b, ...) or a checkpoint file; default: the "
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
            engine, model, version_id = _engine(project, args)
        except (ValueError, OSError) as exc:      # CheckpointError is a ValueError
            return _fail(str(exc))
        return _propose_all(project, engine, model, version_id, _chosen(project, args.images), args)


def _engine(project, args):
    """The engine running the model and the active adapter version (when it can); (engine, model, version id)."""
    from app.annotate.model_choice import ModelLoad
    from app.device import choose_device
    from app.sam.checkpoints import load_sam
    from app.services.model_session import ModelSession, active_adapter

    active, versions = project.adapters.active(), project.adapters.list()
    model = args.model or (active.base_model if active else versions[-1].base_model if versions else "demo")
    device = choose_device(args.device)
    session = ModelSession(None, disk_cache=False)
    session.use_adapter(active_adapter(project, model))
    switch = session.load(lambda: ModelLoad(load_sam(model, device=device.device), model, device.reason))
    if active is not None and active_adapter(project, model) is None:
        print(f"[auto] the active adapter was trained on {active.base_model}, not {model}: running {model} alone",
              file=sys.stderr)
    if switch.adapter_problem:
        print(f"[auto] {switch.adapter_problem}", file=sys.stderr)
    version_id = active.id if switch.adapter is not None else None
    print(f"[auto] model {model}" + (f" with adapter {switch.adapter}" if switch.adapter else "")
          + f"; device: {device.reason}", file=sys.stderr)
    return switch.engine, model, version_id


def _chosen(project, which: str):
    images = project.images.list()
    if which == "all":
        return images
    if which == "stale":
        stale = {p.image_id for p in project.proposals.stale()}
        return [image for image in images if image.id in stale]
    counts = project.instances.counts_per_image()
    return [image for image in images if not counts.get(image.id)]


def _propose_all(project, engine, model: str, version_id: int | None, images, args) -> int:
    from app.cli import _autoseg
    from app.services.model_session import read_checked
    from app.store.errors import StoreError

    started, stored, proposals, skipped = time.perf_counter(), 0, 0, []
    try:
        for n, image in enumerate(images, start=1):
            path = project.path_of(image.path)
            try:
                checked = read_checked(path, image)
            except (ValueError, OSError) as exc:          # ImageLoadError is a ValueError
                skipped.append(image.path)
                print(f"[auto] {n}/{len(images)} {image.path}: skipped, cannot be read ({exc})", file=sys.stderr)
                continue
            if checked.problem:
                skipped.append(image.path)
                print(f"[auto] {n}/{len(images)} {image.path}: skipped, {checked.problem}", file=sys.stderr)
                continue
            began = time.perf_counter()
            accepted = [instance.mask for instance in project.instances.for_image(image.id)]
            found = _autoseg.propose(engine, checked.data.rgb, accepted, args.points_per_side)
            project.proposals.replace_pending(image.id, found, model, version_id)
            stored, proposals = stored + 1, proposals + len(found)
            print(f"[auto] {n}/{len(images)} {image.path}: {len(found)} proposals "
                  f"({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    except (KeyboardInterrupt, _autoseg.Stopped):
        return _fail(f"cancelled; {stored} image(s) have new proposals, the others are as they were", CANCELLED)
    except StoreError as exc:
        return _fail(f"could not store the proposals of {image.path} ({exc}); {stored} image(s) have new "
                     "proposals, the others are as they were", 1)
    seconds = time.perf_counter() - started
    print(f"{stored} images, {proposals} proposals stored in {seconds:.1f} s"
          + (f"; {len(skipped)} skipped: {', '.join(skipped)}" if skipped else ""))
    if args.json:
        print(json.dumps({"images": stored, "proposals": proposals, "seconds": round(seconds, 3),
                          "skipped": skipped}))
    return 1 if skipped and not stored else 0
