"""`mopeft worker`: run the fine-tuning jobs of a shared project's queue on this machine (a GPU box, usually).

Clients queue jobs with `mopeft train --project URL --queue` (the window will too); each job runs the same
fine-tuning as `mopeft train`, its progress and gate values go to the database, and its adapter version is
recorded in the project (active when it validates at least as well as the one in use, unless the job asked
otherwise). Several workers may serve one queue: no two take the same job.
"""
from __future__ import annotations

import sys

from app.cli._project import add_project_arguments, open_project


def register(sub) -> None:
    p = sub.add_parser("worker", help="run a shared project's queued fine-tuning jobs on this machine")
    add_project_arguments(p)
    p.add_argument("--once", action="store_true", help="run the jobs queued now, then stop (default: keep waiting)")
    p.add_argument("--poll", type=float, default=5.0, help="seconds between looks at an empty queue (default 5)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.add_argument("--processes", type=int,
                   help="data-parallel training processes, one per GPU (default: every CUDA GPU, else 1)")
    p.add_argument("--name", help="this worker's name in the queue (default: the annotator name, user@host)")
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from app.device import choose_device
    from app.models.any_family import load_any_sam
    from app.services.jobs import work
    from app.store.claims import annotator_name
    from app.store.errors import StoreError

    device = choose_device(args.device).device
    processes = args.processes or (torch.cuda.device_count() if device.type == "cuda" else 1)
    if processes < 1 or (device.type == "cuda" and processes > torch.cuda.device_count()):
        print(f"mopeft worker: --processes {processes}: give 1 to the number of GPUs here "
              f"({torch.cuda.device_count()})", file=sys.stderr)
        return 2
    try:
        project = open_project(args)
    except StoreError as exc:
        print(f"mopeft worker: {exc}", file=sys.stderr)
        return 2
    name = args.name or annotator_name()
    with project:
        print(f"[worker] {name} serving {project.location} on {device}"
              + (f", {processes} training processes" if processes > 1 else ""), file=sys.stderr)
        try:
            done = work(project, name, lambda model: load_any_sam(model, device=device).sam, once=args.once,
                        poll_s=args.poll, log=lambda line: print(f"[worker] {line}", file=sys.stderr),
                        processes=processes)
        except KeyboardInterrupt:
            print("[worker] stopped", file=sys.stderr)
            return 130
        except StoreError as exc:
            print(f"mopeft worker: {exc}", file=sys.stderr)
            return 1
    print(f"{done} job(s) run")
    return 0
