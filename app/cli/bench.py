"""`mopeft bench NAME`: benchmarks; each module of app.bench with `register(subparsers)` adds one."""
from __future__ import annotations

import importlib
import pkgutil

import app.bench


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print its table")
    bench_sub = p.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for info in sorted(pkgutil.iter_modules(app.bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not benchmarks
            continue
        importlib.import_module(f"app.bench.{info.name}").register(bench_sub)
