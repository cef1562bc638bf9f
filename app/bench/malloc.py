"""`mopeft bench malloc`: the same encoder forward and training steps under the system's and the tuned malloc.

glibc reads its settings at process start (app.memory), so each setting runs in a child process of its
own; the children alternate (system, tuned, system, tuned, ...) so machine load hits both alike. Each
child reports seconds and page faults per call, medians over its repeats after one warm-up.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time

from app import memory

MEASURES = ("encoder forward (no grad)", "training step, full path", "training step, cached last:4 path")
PEAK = "peak resident memory of the child"


def register(sub) -> None:
    p = sub.add_parser("malloc", help="encoder and training-step time under the system vs the tuned malloc")
    p.add_argument("--arch", default="vit_b", help="SAM architecture, random weights (default vit_b)")
    p.add_argument("--repeat", type=int, default=2, help="timed calls per measure in each child (default 2)")
    p.add_argument("--rounds", type=int, default=1, help="children per setting, alternating (default 1)")
    p.set_defaults(run=run)


def child(arch: str, repeat: int) -> dict[str, list[float]]:
    """Time the measures in this process: {measure: [median seconds, median page faults]}, and its peak RSS."""
    from app.bench.overhead import StepModels

    m = StepModels.build(arch, cached_blocks=4)
    steps = m.step_calls()
    calls = dict(zip(MEASURES, (m.encode_call(m.full), steps["full"], steps["cached"])))
    result = {}
    for name, fn in calls.items():
        fn()
        seconds, faults = [], []
        for _ in range(repeat):
            before, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - t0)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        result[name] = [statistics.median(seconds), statistics.median(faults)]
    result[PEAK] = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 0]  # Linux: KiB -> GiB
    return result


def _spawn(setting: str, arch: str, repeat: int) -> dict[str, list[float]]:
    env = memory.system_environment(dict(os.environ))
    if setting == "tuned":
        env = memory.tuned_environment({**env, memory.MARKER: "tuned"})
    code = f"import json; from app.bench.malloc import child; print(json.dumps(child({arch!r}, {repeat})))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def run(args) -> int:
    import torch

    if not memory.on_glibc():
        print("error: the malloc settings apply to glibc (Linux) only", file=sys.stderr)
        return 2
    print(f"mopeft bench malloc --arch {args.arch} --repeat {args.repeat} --rounds {args.rounds} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads; medians; faults = minor page faults)")
    runs: dict[str, list[dict]] = {"system": [], "tuned": []}
    for _ in range(args.rounds):
        for setting in runs:
            runs[setting].append(_spawn(setting, args.arch, args.repeat))
    print("| measure | system malloc | tuned malloc | tuned / system |")
    print("|---|---|---|---|")
    for name in MEASURES:
        (s, sf), (t, tf) = ([statistics.median(r[name][i] for r in runs[k]) for i in (0, 1)] for k in runs)
        print(f"| {name} | {s:.2f} s, {sf:,.0f} faults | {t:.2f} s, {tf:,.0f} faults | {t / s:.2f}x |")
    s, t = (statistics.median(r[PEAK][0] for r in runs[k]) for k in runs)
    print(f"| {PEAK} | {s:.2f} GiB | {t:.2f} GiB | {t / s:.2f}x |")
    return 0
