"""`mopeft bench ui-stall`: how long the annotator's event loop stalls while the model works.

A 10 ms heartbeat timer in the real window (offscreen), timed across an embedding, a click's prediction, automatic
proposals on the image in the background, a fine-tuning run, and panning a large tiled TIFF at 100 % (its tiles
decoded as they come into view), on random weights (speed does not depend on them).
One table row per phase: how long it took, how many heartbeats arrived, and the longest and 99th-percentile gap
between two beats (goal: longest < 100 ms).
"""
from __future__ import annotations

import os
import sys


def register(sub) -> None:
    p = sub.add_parser("ui-stall", help="the window's longest event-loop stall while SAM embeds, predicts, proposes "
                                        "and fine-tunes (offscreen, random weights)")
    p.add_argument("--arch", default="vit_b", help="SAM architecture for embedding and prompting (default vit_b)")
    p.add_argument("--train-arch", default="demo", help="SAM architecture for the fine-tuning phase (default demo)")
    p.add_argument("--steps", type=int, default=10, help="fine-tuning steps (default 10)")
    p.add_argument("--size", type=int, default=1024, help="image side in pixels (default 1024)")
    p.add_argument("--propose-points", type=int, default=16,
                   help="prompt points per side of the proposals phase (default 16)")
    p.add_argument("--pan-side", type=int, default=20000,
                   help="side of the tiled TIFF the pan phase pans across (default 20000; 0: no pan phase)")
    p.add_argument("--pan-only", action="store_true", help="run the pan phase alone")
    p.set_defaults(run=run)


def _full_collection_seconds() -> float:
    """The time of one full cycle collection (what pyqtgraph's collector runs on the GUI thread now and then)."""
    import gc
    import time

    gc.collect()
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started


def run(args) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import torch
    from PySide6.QtWidgets import QApplication

    from app.bench._stall_phases import phases
    from app.ui.gui_gc import collect_on_gui_thread, freeze_startup_objects

    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    before = _full_collection_seconds()
    freeze_startup_objects()
    after = _full_collection_seconds()
    with collect_on_gui_thread():  # as the app does
        rows = phases(args)
    print(f"mopeft bench ui-stall --arch {args.arch} --train-arch {args.train_arch} --steps {args.steps} "
          f"--size {args.size} --propose-points {args.propose_points} --pan-side {args.pan_side}"
          f"{' --pan-only' if args.pan_only else ''} (torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs)")
    print("| phase | seconds | heartbeats | longest gap (ms) | p99 gap (ms) |")
    print("|---|---|---|---|---|")
    for name, seconds, gaps in rows:
        gaps_ms = np.array(gaps) * 1000
        longest, p99 = (f"{gaps_ms.max():.0f}", f"{np.percentile(gaps_ms, 99):.0f}") if len(gaps) else ("–", "–")
        print(f"| {name} | {seconds:.1f} | {len(gaps)} | {longest} | {p99} |")  # a phase may end before a beat
    print(f"a full gc.collect() on the GUI thread: {after * 1000:.0f} ms with the startup objects frozen (as the "
          f"app does), {before * 1000:.0f} ms without")
    del qt_app
    return 0
