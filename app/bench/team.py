"""`mopeft bench team`: several annotators accepting at once on one PostgreSQL project, and kill -9 faults.

Each simulated annotator is a process of its own with its own connection: it claims its image, accepts
`--accepts` instances one transaction each (the store's `instances.add`, as the window does), and records each
accept's latency and the id it got. Then the project must hold exactly those instances: none lost, none twice.
Two faults follow, each with kill -9: a client killed inside an open transaction (its writes must vanish, its row
locks go, its claim be taken over once the claim timeout has passed), and a worker killed in the middle of a
fine-tuning job (the job goes back to the queue and a second worker finishes it; the accepts but two on each of
three images are deleted first, so the job's validation does not click thousands of instances). Without `--url` a throwaway
server is started (app/store/pg_throwaway.py).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

SIDE = 64
"""Side of the blank images the annotators accept on; accept k of an annotator is a small square at a place of its
own, so every accept is a different mask."""


def register(sub) -> None:
    p = sub.add_parser("team", help="simulated annotators accepting at once on one PostgreSQL project, "
                                    "and kill -9 of a client and of a worker")
    p.add_argument("--annotators", type=int, default=8, help="annotator processes accepting at once (default 8)")
    p.add_argument("--accepts", type=int, default=500, help="accepts per annotator (default 500)")
    p.add_argument("--url", help="an EMPTY PostgreSQL database to use (default: start a throwaway local server)")
    p.add_argument("--job-steps", type=int, default=40,
                   help="steps of the fine-tuning job whose worker is killed (default 40; 0 skips that fault)")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.set_defaults(run=run)


def _mask(k: int):
    import numpy as np

    mask = np.zeros((SIDE, SIDE), dtype=bool)
    row, col = divmod(k % ((SIDE // 4) ** 2), SIDE // 4)
    mask[row * 4: row * 4 + 3, col * 4: col * 4 + 3] = True
    return mask


def _annotate(url: str, root: str, name: str, image_id: int, label_id: int, accepts: int, start, out: str) -> None:
    """One annotator process: claim the image, accept `accepts` instances, release; ids and latencies to `out`."""
    from app.store import Project

    with Project.open(url, images_root=root) as project:
        project.claims.claim(image_id, name)
        masks = [_mask(k) for k in range(accepts)]
        start.wait()
        ids, latencies = [], []
        for mask in masks:
            began = time.perf_counter()
            ids.append(project.instances.add(image_id, label_id, mask, source="corrected").id)
            latencies.append(time.perf_counter() - began)
        project.claims.release(name, image_id)
    Path(out).write_text(json.dumps({"ids": ids, "latencies": latencies}))


def _hold_transaction(url: str, root: str, image_id: int, label_id: int, ready) -> None:
    """A client that claims the image, accepts three instances inside one transaction and never commits."""
    from app.store import Project

    project = Project.open(url, images_root=root)
    project.claims.claim(image_id, "killed-client")
    with project.transaction():
        for k in range(3):
            project.instances.add(image_id, label_id, _mask(k), source="corrected")
        ready.set()
        time.sleep(600)


def _accept_phase(url: str, root: Path, images: list[int], label_id: int, accepts: int, work: Path) -> dict:
    """All annotators at once; their figures and the check of the project's instances against them."""
    from app.store import Project

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    outs = [work / f"annotator-{i}.json" for i in range(len(images))]
    procs = [ctx.Process(target=_annotate, args=(url, str(root), f"annotator-{i}", image, label_id, accepts, start,
                                                 str(out))) for i, (image, out) in enumerate(zip(images, outs))]
    for p in procs:
        p.start()
    time.sleep(3.0)   # every process has imported, opened the project and claimed its image
    began = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    wall = time.perf_counter() - began
    failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"annotator process(es) {failed} failed; see their errors above")
    reported = [json.loads(out.read_text()) for out in outs]
    ids = [i for r in reported for i in r["ids"]]
    latencies = sorted(s for r in reported for s in r["latencies"])
    with Project.open(url, images_root=root, readonly=True) as project:
        stored = {inst.id: image for image in images for inst in project.instances.for_image(image)}
        claims_left = len(project.claims.live())
    expected = {i: image for r, image in zip(reported, images) for i in r["ids"]}
    return {
        "accepts": len(ids), "seconds": wall, "accepts_per_s": len(ids) / wall,
        "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
        "lost": len(expected.keys() - stored.keys()), "duplicated": len(ids) - len(set(ids)),
        "unexpected": len(stored.keys() - expected.keys()),
        "on_the_wrong_image": sum(stored.get(i, image) != image for i, image in expected.items()),
        "claims_left": claims_left,
    }


def _killed_client(url: str, root: Path, image_id: int, label_id: int) -> dict:
    """kill -9 a client inside an open transaction; what is left of it."""
    from app.store import Project
    from app.store.claims import ClaimedError

    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_transaction, args=(url, str(root), image_id, label_id, ready))
    proc.start()
    if not ready.wait(120):
        proc.kill()
        raise RuntimeError("the client that holds a transaction did not get there in 120 s")
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    with Project.open(url, images_root=root) as project:
        began = time.perf_counter()
        after = project.instances.add(image_id, label_id, _mask(7), source="corrected")  # no lock of the dead one left
        accept_ms = 1000 * (time.perf_counter() - began)
        left = [i.id for i in project.instances.for_image(image_id) if i.id != after.id]
        try:
            project.claims.claim(image_id, "next-annotator")
            taken_before_timeout = True
        except ClaimedError:
            taken_before_timeout = False
        project.claims.timeout = timedelta(seconds=1)
        time.sleep(1.5)
        project.claims.claim(image_id, "next-annotator")   # raises if the dead client's claim never ends
    return {"instances_left": len(left), "accept_after_ms": accept_ms,
            "claim_held_until_timeout": not taken_before_timeout, "claim_taken_over_after_timeout": True}


def _worker(url: str, root: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "app.cli.main", "worker", "--project", url, "--images-root", str(root),
               "--once", "--device", "cpu"]
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _keep_few(project, images: list[int], per_image: int = 2) -> None:
    """Delete all but `per_image` instances of each image, so the job's validation clicks a few, not thousands."""
    for image in images:
        for instance in project.instances.for_image(image)[per_image:]:
            project.instances.delete(instance.id)


def _killed_worker(url: str, root: Path, images: list[int], steps: int, work: Path) -> dict:
    """kill -9 a worker in the middle of a fine-tuning job, put the job back, let a second worker finish it. The
    job trains on three of the images, with two instances each."""
    from app.services.jobs import fine_tune_request
    from app.store import Project
    from app.training.finetune.settings import TrainSettings

    log = work / "workers.log"
    with Project.open(url, images_root=root) as project:
        _keep_few(project, images[:3])
        _keep_few(project, images[3:], per_image=0)
        job = project.jobs.queue(fine_tune_request("demo", TrainSettings(steps=steps, images_per_step=1)), "bench")
        first = _worker(url, root, log)
        deadline = time.monotonic() + 900   # a busy 2-core machine takes minutes to start a worker
        while not (project.jobs.get(job.id).progress or {}).get("step"):   # its first step reported
            if first.poll() is not None or time.monotonic() > deadline:
                why = "exited" if first.poll() is not None else "was still starting after 900 s"
                first.kill()
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the first worker {why} before the first step of job {job.id} "
                                   f"({project.jobs.get(job.id).state}); its log ends:\n{tail}")
            time.sleep(0.2)
        killed_at = project.jobs.get(job.id).progress["step"]
        first.send_signal(signal.SIGKILL)
        first.wait()
        time.sleep(1.5)
        project.jobs.requeue_lost(stale_after=timedelta(seconds=1))
        requeued = project.jobs.get(job.id)
        second = _worker(url, root, log)
        second.wait(600)
        ended = project.jobs.get(job.id)
        versions = len(project.adapters.list())
    return {"killed_at_step": killed_at, "state_after_kill": requeued.state, "attempts": ended.attempts,
            "final_state": ended.state, "adapter_versions": versions, "error": ended.error}


def _project(url: str, root: Path, images: int) -> tuple[list[int], int]:
    """Blank images (one per annotator, one for the faults), a label; their ids and the label's."""
    import cv2
    import numpy as np

    from app.store import Project

    for i in range(images):
        pixels = np.full((SIDE, SIDE, 3), 40, np.uint8)
        pixels[0, 0] = (i % 256, i // 256, 7)   # unique content, so unique hashes
        cv2.imwrite(str(root / f"img{i:03d}.png"), pixels)
    with Project.open(url, create=True, images_root=root) as project:
        project.images.scan()
        label = project.labels.add("object")
        ids = [project.images.find(root / f"img{i:03d}.png").id for i in range(images)]
    return ids, label.id


def run(args) -> int:
    from app.store.pg_throwaway import PgServer, server_binaries

    server = None
    url = args.url
    if url is None:
        binaries = server_binaries()
        if binaries is None:
            print("mopeft bench team: no PostgreSQL server binary (initdb) found: install Debian's postgresql "
                  "package, or give --url of an empty database", file=sys.stderr)
            return 2
        server = PgServer(binaries)
        url = server.new_database()
    work = Path(tempfile.mkdtemp(prefix="mopeft-bench-team-"))
    root = work / "images"
    root.mkdir()
    try:
        images, label_id = _project(url, root, args.annotators + 1)
        accepts = _accept_phase(url, root, images[:-1], label_id, args.accepts, work)
        client = _killed_client(url, root, images[-1], label_id)
        worker = _killed_worker(url, root, images, args.job_steps, work) if args.job_steps > 0 else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if server is not None:
            server.stop()
    _print(args, accepts, client, worker)
    if args.json:
        args.json.write_text(json.dumps({"accepts": accepts, "killed_client": client, "killed_worker": worker},
                                        indent=2))
    ok = (accepts["lost"] == accepts["duplicated"] == accepts["unexpected"] == accepts["on_the_wrong_image"] == 0
          and accepts["claims_left"] == 0 and client["instances_left"] == 0 and (worker is None or worker["final_state"] == "finished"))
    return 0 if ok else 1


def _print(args, accepts: dict, client: dict, worker: dict | None) -> None:
    print(f"team benchmark: {args.annotators} annotator processes x {args.accepts} accepts on one PostgreSQL "
          f"project ({os.cpu_count()} CPUs)")
    print("| measure | value |")
    print("|---|---|")
    rows = [
        ("accepts, in all", f"{accepts['accepts']:,}"),
        ("wall time", f"{accepts['seconds']:.1f} s"),
        ("accepts per second", f"{accepts['accepts_per_s']:.0f}"),
        ("accept latency p50 / p95 / max", f"{accepts['p50_ms']:.1f} / {accepts['p95_ms']:.1f} / "
                                           f"{accepts['max_ms']:.1f} ms"),
        ("lost / duplicated / unexpected / on another image", f"{accepts['lost']} / {accepts['duplicated']} / "
                                                              f"{accepts['unexpected']} / "
                                                              f"{accepts['on_the_wrong_image']}"),
        ("claims left after the annotators released theirs", str(accepts["claims_left"])),
        ("client killed in a transaction: its instances left", str(client["instances_left"])),
        ("  next accept on its image", f"{client['accept_after_ms']:.1f} ms (no lock left)"),
        ("  its claim", "held until the timeout, then taken over" if client["claim_held_until_timeout"]
         else "taken over at once"),
    ]
    if worker is not None:
        rows += [
            ("worker killed in a job: at step", str(worker["killed_at_step"])),
            ("  the job after the kill", worker["state_after_kill"] + " (back in the queue)"
             if worker["state_after_kill"] == "queued" else worker["state_after_kill"]),
            ("  the job in the end", f"{worker['final_state']} by a second worker, attempt {worker['attempts']}, "
                                     f"{worker['adapter_versions']} adapter version(s)"
                                     + (f"; {worker['error']}" if worker["error"] else "")),
        ]
    for row in rows:
        print(f"| {row[0]} | {row[1]} |")
