"""Python's cycle collector, run on the GUI thread only.

A collection that starts in a worker thread (training, SAM) can free a Qt wrapper left in a reference cycle;
the QObject is then destroyed in that thread while the GUI thread deletes a related one, and the two deadlock
over Qt's object mutex and the GIL (seen in the test suite: the window froze for good). pyqtgraph's
GarbageCollector switches automatic collection off and collects from a timer on the GUI thread instead.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from pyqtgraph.util.garbage_collector import GarbageCollector


def freeze_startup_objects() -> None:
    """Collect once, then leave every object alive now (the imported modules of torch, Qt and the app, the
    window) out of later collections (`gc.freeze`). A full collection that scans them took 0.33 s on a 2-core
    CPU, on the GUI thread, a stall the annotator feels; afterwards it takes milliseconds. Objects made later are
    collected as before."""
    gc.collect()
    gc.freeze()


@contextmanager
def collect_on_gui_thread(interval_s: float = 1.0) -> Iterator[GarbageCollector]:
    """Within the block, cycles are collected only by a GUI-thread timer; afterwards as usual, after one last
    collection on the calling (GUI) thread."""
    collector = GarbageCollector(interval=interval_s)
    try:
        yield collector
    finally:
        collector.timer.stop()
        gc.enable()
        gc.collect()
