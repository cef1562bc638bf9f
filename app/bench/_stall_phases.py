"""The phases `mopeft bench ui-stall` times in the real window (offscreen): embed, click, propose, fine-tune, and
panning a large tiled TIFF at 100 %.

Imported only when that benchmark runs, so the CLI starts without Qt.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
import torch
from PIL import Image
from PySide6.QtCore import QEventLoop, QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.annotate.model_choice import ModelLoad
from app.sam.checkpoints import LoadedSam
from app.sam.variants import build_sam
from app.services.proposing import AutoParams
from app.store import Project
from app.ui.app_paths import AppPaths
from app.ui.heartbeat import Heartbeat
from app.ui.main_window import MainWindow


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


def _propose(beat: Heartbeat, window: MainWindow, args) -> tuple[str, float, list[float]]:
    """Proposals on the image in the background (P), every candidate kept (no score filter): the most work per
    image for the proposals thread and the most outlines for the GUI thread to draw."""
    window.proposing.params = AutoParams(points_per_side=args.propose_points, pred_iou_thresh=0,
                                         stability_score_thresh=0)
    ended = []
    window.proposing.ended.connect(ended.append)
    seconds, gaps = measure(beat, window.proposing.propose_image, lambda: bool(ended), timeout=1800)
    return (f"{args.arch}: propose on the image, {args.propose_points}² points ({ended[0]})", seconds, gaps)


PAN_STEPS = 200
"""Pans of a tenth of the canvas across and a twentieth down, one every 20 ms."""


def _slide_tiles(side: int):
    """The 256 px tiles, row by row, of a side x side slide: blobs of colour over noise (compresses as slides do)."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (256, 256, 3), dtype=np.uint8)
    for y in range(0, side, 256):
        for x in range(0, side, 256):
            yield noise + np.array([(x // 7) % 200, (y // 5) % 200, ((x + y) // 11) % 200], np.uint8)


def _pan(beat: Heartbeat, tmp: Path, paths: AppPaths, side: int) -> tuple[str, float, list[float]]:
    """Open a side x side tiled TIFF (no pyramid), zoom to 100 % and pan across it: the tiles coming into view are
    decoded by the canvas's decoder thread."""
    folder = tmp / "large"
    folder.mkdir()
    tifffile.imwrite(folder / "slide.tif", _slide_tiles(side), shape=(side, side, 3), dtype=np.uint8,
                     tile=(256, 256), compression="zlib")
    window = _window("demo", folder, paths)
    measure(beat, lambda: None, lambda: window.status.embedding.text().startswith("Embedding ready"), 1800)
    window.canvas.actual_size()
    decoded = []
    window.canvas.layers.tiled.tile_decoded.connect(decoded.append)
    moves = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: (window.canvas.pan(0.1, 0.05), moves.append(1)))
    seconds, gaps = measure(beat, timer.start, lambda: len(moves) >= PAN_STEPS, 600)
    timer.stop()
    window.shutdown()
    window.close()
    return f"pan a {side}² tiled TIFF at 100 %, {PAN_STEPS} steps, {len(decoded)} tiles decoded", seconds, gaps


def phases(args) -> list[tuple[str, float, list[float]]]:
    """Run the phases in the real window (only the pan with `pan_only`); (name, seconds, heartbeat gaps) for
    each."""
    tmp = Path(tempfile.mkdtemp(prefix="mopeft-stall-"))
    paths = AppPaths(tmp / "config", tmp / "data", tmp / "cache")
    beat = Heartbeat()
    pan = [_pan(beat, tmp, paths, args.pan_side)] if args.pan_side else []
    return pan if args.pan_only else _model_phases(beat, tmp, paths, args) + pan


def _model_phases(beat: Heartbeat, tmp: Path, paths: AppPaths, args) -> list[tuple[str, float, list[float]]]:
    """Embed, click, propose and fine-tune on a random args.size image."""
    folder = tmp / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)).save(folder / "a.png")
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
    rows.append(_propose(beat, window, args))
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
