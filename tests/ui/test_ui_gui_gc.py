"""Cycles are collected on the GUI thread while the app runs, never in a worker thread that happened to
allocate (a worker freeing a Qt object deadlocked the window)."""
import pytest
import gc
import threading

from app.ui.gui_gc import collect_on_gui_thread


CYCLES = 1000


class Cyclic:
    """Half of a reference cycle that records the thread that frees it."""

    freed_in: list[str] = []

    def __init__(self):
        self.partner = None

    def __del__(self):
        Cyclic.freed_in.append(threading.current_thread().name)


def _garbage_cycle():
    a, b = Cyclic(), Cyclic()
    a.partner, b.partner = b, a


def _allocate_in_worker():
    def churn():
        for _ in range(CYCLES):  # more new objects than gc's first threshold (700): a collection is due
            _garbage_cycle()
    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join()


def test_without_it_a_worker_thread_collects(qtbot):
    gc.collect()
    Cyclic.freed_in = []
    _allocate_in_worker()
    assert "worker" in Cyclic.freed_in  # the hazard the module exists for


@pytest.mark.slow
def test_inside_it_only_the_gui_thread_collects(qtbot):
    gc.collect()
    Cyclic.freed_in = []
    with collect_on_gui_thread(interval_s=0.05):
        assert not gc.isenabled()
        _allocate_in_worker()
        assert Cyclic.freed_in == []
        qtbot.waitUntil(lambda: len(Cyclic.freed_in) >= 2, timeout=5000)
    assert gc.isenabled()
    assert len(Cyclic.freed_in) == 2 * CYCLES and set(Cyclic.freed_in) == {threading.main_thread().name}


@pytest.mark.slow
def test_objects_alive_at_startup_leave_later_collections_and_new_garbage_is_still_collected():
    from app.ui.gui_gc import freeze_startup_objects

    kept = [Cyclic() for _ in range(3)]
    kept[0].partner = kept[1]
    freeze_startup_objects()
    assert gc.get_freeze_count() > 0 and not any(gc.is_tracked(o) and o in gc.get_objects() for o in kept)
    Cyclic.freed_in.clear()
    _garbage_cycle()   # made after the freeze: an ordinary cycle
    gc.collect()
    assert len(Cyclic.freed_in) == 2
