"""Getting back to the work: the next image without instances, and reopening at the image the annotator left."""
from PySide6.QtCore import Qt

from test_ui_harness import drag, folder, key, make_window, paths, stored, wait_ready  # noqa: F401


def _paint_and_accept(qtbot, window):
    wait_ready(qtbot, window)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (40, 20)])
    key(qtbot, window, Qt.Key.Key_B)
    key(qtbot, window, Qt.Key.Key_Return)
    assert stored(window)


def test_next_image_without_instances_skips_annotated_and_done_ones(qtbot, make_window, tmp_path, folder):
    for name in ("c_empty.png", "d_empty.png"):
        (folder / name).write_bytes((folder / "b_generated_1.png").read_bytes())
    window = make_window(folder)                   # a_scene, b_generated_1, b_generated_2, c_empty, d_empty
    _paint_and_accept(qtbot, window)
    key(qtbot, window, Qt.Key.Key_D)
    _paint_and_accept(qtbot, window)               # b_generated_1 has an instance now
    key(qtbot, window, Qt.Key.Key_A)
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.image.path == "b_generated_2.png"
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)   # done without instances: skipped
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.image.path == "c_empty.png"
    (entry,) = [a for a in window.menus["&Image"].actions() if a.objectName() == "next_without_instances"]
    entry.trigger()
    assert window.session.image.path == "d_empty.png"
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)    # wraps round to the first empty one
    assert window.session.image.path == "c_empty.png"
    _paint_and_accept(qtbot, window)
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.image.path == "d_empty.png"
    _paint_and_accept(qtbot, window)
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)    # none left: stays, and says so
    assert window.session.image.path == "d_empty.png"
    assert "Every other image has instances or is marked done" in window.notices.history[-1][1]
