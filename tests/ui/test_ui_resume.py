"""Getting back to the work: the next image without instances, and reopening at the image the annotator left."""
import pytest
import json

from PySide6.QtCore import Qt

from window_helpers import drag, key, stored, wait_ready


def _paint_and_accept(qtbot, window):
    wait_ready(qtbot, window)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (40, 20)])
    key(qtbot, window, Qt.Key.Key_B)
    key(qtbot, window, Qt.Key.Key_Return)
    assert stored(window)


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_project_reopens_at_the_image_it_was_left_at(qtbot, make_window, folder, tmp_path, paths):
    window = make_window(folder)
    key(qtbot, window, Qt.Key.Key_D)
    key(qtbot, window, Qt.Key.Key_D)
    assert window.session.image.path == "b_generated_2.png"
    window.shutdown()
    again = make_window(folder)
    assert again.session.image.path == "b_generated_2.png"
    assert again.image_dock.tree.currentItem().text(0) == "b_generated_2.png"
    assert again.status.position.text() == "Image 3 of 3"
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.png").write_bytes((folder / "a_scene.png").read_bytes())
    assert again.open_project(other) and again.session.image.path == "x.png"
    again.shutdown()
    remembered = json.loads(paths.last_images.read_text(encoding="utf-8"))
    assert remembered == {str(folder.resolve()): "b_generated_2.png", str(other.resolve()): "x.png"}
    remembered[str(folder.resolve())] = "no_longer_in_the_project.png"
    paths.last_images.write_text(json.dumps(remembered), encoding="utf-8")
    third = make_window(folder)
    assert third.session.image.path == "a_scene.png"  # the first image not done, as for a project never opened


@pytest.mark.slow
def test_an_unreadable_record_is_named_and_projects_still_open(qtbot, make_window, folder, paths):
    paths.config_dir.mkdir(parents=True)
    paths.last_images.write_text("{not json", encoding="utf-8")
    window = make_window(folder)
    errors = "\n".join(text for level, text in window.notices.history if level == "error")
    assert str(paths.last_images) in errors and "cannot be read" in errors
    assert window.session.image.path == "a_scene.png"
    key(qtbot, window, Qt.Key.Key_D)
    assert json.loads(paths.last_images.read_text(encoding="utf-8")) == {str(folder.resolve()): "b_generated_1.png"}
