"""How long the annotator's event loop stalls while the model works: a 10 ms heartbeat timer in the real window
(offscreen), timed across an embedding, a click's prediction and a fine-tuning run.

    python bench/ui_stall.py [--arch vit_b] [--train-arch demo] [--steps 10]

Random weights (speed does not depend on them). Prints one table row per phase: how long the phase took, how
many heartbeats arrived, and the longest and 99th-percentile gap between two beats (goal: longest < 100 ms).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEventLoop, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.annotate.model_choice import ModelLoad  # noqa: E402
from app.sam.checkpoints import LoadedSam  # noqa: E402
from app.sam.variants import build_sam  # noqa: E402
from app.store import Project  # noqa: E402
from app.ui.app_paths import AppPaths  # noqa: E402
from app.ui.gui_gc import collect_on_gui_thread  # noqa: E402
from app.ui.heartbeat import Heartbeat  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402


def measure(beat: Heartbeat, start, done, timeout: float) -> tuple[float, list[float]]:
    """Run `start()`, pump events until `done()`; returns the seconds taken and the heartbeat gaps seen."""
    began = time.perf_counter()
    beat.start()
    start()
    while not done():
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if time.perf_counter() - began > timeout:
            raise TimeoutError("the phase did not finish in time")
    beat.stop()
    return time.perf_counter() - began, beat.gaps


def _window(arch: str, folder: Path, paths: AppPaths) -> MainWindow:
    torch.manual_seed(0)
    model = ModelLoad(LoadedSam(build_sam(arch), arch, None), f"{arch} (random weights)", "benchmark")
    window = MainWindow(paths, lambda: model)
    window.show()
    window.open_project(folder)
    return window


def _phases(args) -> list[tuple[str, float, list[float]]]:
    """Run the three phases in the real window; (name, seconds, heartbeat gaps) for each."""
    tmp = Path(tempfile.mkdtemp(prefix="mopeft-stall-"))
    folder = tmp / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)).save(folder / "a.png")
    paths = AppPaths(tmp / "config", tmp / "data", tmp / "cache")
    beat = Heartbeat()
    rows = []

    window = _window(args.arch, folder, paths)
    seconds, gaps = measure(beat, lambda: None, lambda: window.status.embedding.text().startswith("Embedding ready"),
                                 timeout=1800)
    rows.append((f"{args.arch}: load the model, open a {args.size}px image, embed it", seconds, gaps))
    point = window.canvas.mapFromScene(QPointF(args.size / 2, args.size / 2))
    seconds, gaps = measure(beat, lambda: QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                                                          pos=point),
                                 lambda: window.session.candidates is not None and not window.session.pending, 300)
    rows.append((f"{args.arch}: one click to its mask", seconds, gaps))
    window.shutdown()
    window.close()

    with Project.open(folder) as project:
        image = project.images.list()[0]
        mask = np.zeros((args.size, args.size), bool)
        mask[args.size // 4: args.size // 2, args.size // 4: args.size // 2] = True
        project.instances.add(image.id, project.labels.add("object").id, mask)
    window = _window(args.train_arch, folder, paths)
    measure(beat, lambda: None, lambda: window.status.embedding.text().startswith("Embedding ready"), 1800)
    window.training_dock.form.steps.setValue(args.steps)
    ended = []
    window.training.ended.connect(ended.append)
    seconds, gaps = measure(beat, window.training.start, lambda: bool(ended), timeout=3600)
    rows.append((f"{args.train_arch}: fine-tune {args.steps} steps ({ended[0]})", seconds, gaps))
    window.shutdown()
    window.close()

    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit_b", help="SAM architecture for embedding and prompting")
    parser.add_argument("--train-arch", default="demo", help="SAM architecture for the fine-tuning phase")
    parser.add_argument("--steps", type=int, default=10, help="fine-tuning steps")
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with collect_on_gui_thread():  # as the app does
        rows = _phases(args)
    print(f"python bench/ui_stall.py --arch {args.arch} --train-arch {args.train_arch} --steps {args.steps} "
          f"(torch {torch.__version__}, {os.cpu_count()} CPUs)")
    print("| phase | seconds | heartbeats | longest gap (ms) | p99 gap (ms) |")
    print("|---|---|---|---|---|")
    for name, seconds, gaps in rows:
        gaps_ms = np.array(gaps) * 1000
        print(f"| {name} | {seconds:.1f} | {len(gaps)} | {gaps_ms.max():.0f} | {np.percentile(gaps_ms, 99):.0f} |")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
