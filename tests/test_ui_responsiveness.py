"""The event loop keeps running while an image is embedded (the encoder is made slow on purpose)."""
import time

from PySide6.QtCore import QTimer

from test_ui_harness import demo_model, folder, make_window, paths, wait_ready  # noqa: F401

ENCODER_DELAY = 1.5
MAX_GAP = 0.100


def test_no_stall_over_100_ms_while_embedding(qtbot, make_window, folder):
    window = make_window(loader=demo_model(ENCODER_DELAY), ready=False)
    gaps, last = [], [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(beat)
    started = time.perf_counter()
    timer.start()
    assert window.open_project(folder)
    qtbot.waitUntil(lambda: window.status.busy.isVisible(), timeout=10000)
    qtbot.mouseMove(window.canvas.viewport())
    wait_ready(qtbot, window, timeout=30000)
    timer.stop()
    assert time.perf_counter() - started >= ENCODER_DELAY  # the heartbeat ran across a whole slow embedding
    assert "computed" in window.status.embedding.text()
    print(f"heartbeat: {len(gaps)} beats, longest gap {max(gaps) * 1000:.0f} ms")
    assert len(gaps) > 50 and max(gaps) < MAX_GAP, f"longest gap {max(gaps) * 1000:.0f} ms"
