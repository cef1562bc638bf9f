"""The window's layout: opening and closing Advanced in the Fine-tuning dock gives the canvas its height back, and
the layout saved on quit does not keep the canvas small at the next start."""
import pytest
from PySide6.QtCore import QSettings, Qt



def _restart(qtbot, make_window, first):
    """A new window on the same settings, at the size of `first` (the offscreen screen clamps restored geometry)."""
    size = first.size()
    second = make_window(ready=False)
    second.resize(size)
    _settled(qtbot, second)
    return second


def _settled(qtbot, window) -> int:
    """The canvas height once the layout has stopped moving (a loaded machine lays out late)."""
    heights = [-1]

    def still() -> bool:
        heights.append(window.canvas.height())
        return heights[-1] == heights[-2]

    qtbot.wait(50)
    qtbot.waitUntil(still, timeout=5000)
    return heights[-1]


def _toggle_advanced(qtbot, window):
    qtbot.mouseClick(window.training_dock.form.toggle, Qt.MouseButton.LeftButton)
    _settled(qtbot, window)


@pytest.mark.slow
def test_closing_advanced_gives_the_canvas_its_height_back(qtbot, make_window):
    window = make_window(ready=False)
    canvas, dock = _settled(qtbot, window), window.training_dock.height()
    _toggle_advanced(qtbot, window)
    assert window.training_dock.form.keep_best.isVisible()
    assert window.training_dock.height() > dock  # the panel needs the room while it is open
    _toggle_advanced(qtbot, window)
    qtbot.waitUntil(lambda: window.training_dock.height() == dock and window.canvas.height() == canvas, timeout=3000)


@pytest.mark.slow
def test_quitting_with_advanced_open_keeps_the_canvas_height_for_the_next_start(qtbot, make_window, paths):
    first = make_window(ready=False)
    canvas = _settled(qtbot, first)
    _toggle_advanced(qtbot, first)
    assert first.canvas.height() < canvas
    first.shutdown()
    first.close()
    second = _restart(qtbot, make_window, first)
    assert not second.training_dock.form.advanced.isVisible()
    assert _settled(qtbot, second) == canvas


@pytest.mark.slow
def test_a_layout_saved_before_the_fix_is_not_restored(qtbot, make_window, paths):
    first = make_window(ready=False)
    canvas = _settled(qtbot, first)
    first.resizeDocks([first.training_dock], [first.height() // 2], Qt.Orientation.Vertical)
    assert _settled(qtbot, first) < canvas
    unversioned = first.saveState()  # as the window saved it until now: no layout version
    first.shutdown()
    first.close()
    settings = QSettings(str(paths.window_settings), QSettings.Format.IniFormat)
    settings.setValue("state", unversioned)
    settings.sync()
    second = _restart(qtbot, make_window, first)
    assert _settled(qtbot, second) == canvas
