"""`mopeft bench outlines`: what drawing a ragged proposal costs the GUI thread, as a path and as edge pixels.

A random-weight model proposes thresholded noise; its outline as polygons has hundreds of thousands of points, and
stroking them stalled the window (`proposal_shapes.RAGGED_POINTS` decides which way a proposal is drawn). Both ways
run side by side on the same mask in one offscreen canvas: setting the outline and painting the canvas once, then
hovering it (the solid outline of the proposal under the cursor). Computing the outline is the worker thread's share.
"""
from __future__ import annotations

import os
import statistics
import time


def register(sub) -> None:
    p = sub.add_parser("outlines", help="GUI-thread time to draw a ragged proposal: as a path vs as edge pixels")
    p.add_argument("--size", type=int, default=1024, help="side of the square image (default 1024)")
    p.add_argument("--density", type=float, default=0.45, help="share of the mask's pixels set (default 0.45)")
    p.add_argument("--repeat", type=int, default=3, help="timed draws per way, median (default 3)")
    p.set_defaults(run=run)


def _draw_seconds(app, view, outline) -> tuple[float, float]:
    """Seconds to set `outline` and paint, and to hover it and paint; the canvas is cleared after."""
    layers = view.layers
    t0 = time.perf_counter()
    layers.set_proposals([outline], [])
    view.viewport().repaint()
    app.processEvents()
    t1 = time.perf_counter()
    layers.set_hovered_proposal(outline)
    view.viewport().repaint()
    app.processEvents()
    t2 = time.perf_counter()
    layers.set_proposals([], [])
    layers.set_hovered_proposal(None)
    app.processEvents()
    return t1 - t0, t2 - t1


def run(args) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from app.annotate.overlay import outlines
    from app.annotate.proposal_shapes import Outline, outline_of
    from app.ui.canvas_view import CanvasView

    app = QApplication.instance() or QApplication([])
    view = CanvasView()
    view.resize(1000, 800)
    view.show()
    image = QImage(args.size, args.size, QImage.Format.Format_RGB888)
    image.fill(0x404040)
    view.layers.set_image(image)
    view.fitInView(view.layers.image)
    app.processEvents()
    mask = np.random.default_rng(0).random((args.size, args.size)) < args.density
    t0 = time.perf_counter()
    polygons = outlines(mask)
    edges = outline_of(mask)
    worker = time.perf_counter() - t0
    ways = {"as a path": Outline(polygons), "as edge pixels": edges}
    times = {way: [_draw_seconds(app, view, o) for _ in range(args.repeat)] for way, o in ways.items()}
    print(f"mopeft bench outlines --size {args.size} --density {args.density} --repeat {args.repeat} "
          f"(offscreen; {len(polygons):,} polygons, {sum(map(len, polygons)):,} points; outline computed in the "
          f"worker in {worker * 1000:.0f} ms; medians)")
    print("| GUI thread | as a path | as edge pixels | pixels / path |")
    print("|---|---|---|---|")
    for i, measure in enumerate(("set the outline and paint", "hover it and paint")):
        path, pixels = (statistics.median(t[i] for t in times[way]) for way in ways)
        print(f"| {measure} | {path * 1000:.0f} ms | {pixels * 1000:.0f} ms | {pixels / path:.3f}x |")
    view.close()
    return 0
