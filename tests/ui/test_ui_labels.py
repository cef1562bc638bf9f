"""The label panel (add, rename, recolour, digit keys) and the instance list (select, relabel, hide, delete)."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QInputDialog

from window_helpers import drag, key, overlay_alpha, stored, wait_ready


def _answer(monkeypatch, *names):
    answers = iter(names)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: (next(answers), True)))


def _paint_and_accept(qtbot, window, y):
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, y), (50, y)])
    key(qtbot, window, Qt.Key.Key_B)
    key(qtbot, window, Qt.Key.Key_Return)


@pytest.mark.slow
def test_label_panel_and_digit_keys(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder)
    dock = window.label_dock
    _answer(monkeypatch, "cell", "debris", "cell", "nucleus")
    qtbot.mouseClick(dock.add_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dock.add_button, Qt.MouseButton.LeftButton)
    assert [dock.list.item(i).text() for i in range(2)] == ["1  cell", "2  debris"]
    qtbot.mouseClick(dock.add_button, Qt.MouseButton.LeftButton)  # a second "cell" is refused, visibly
    assert "already a label named 'cell'" in window.notices.history[-1][1] and dock.list.count() == 2
    key(qtbot, window, Qt.Key.Key_1)
    _paint_and_accept(qtbot, window, 20)
    key(qtbot, window, Qt.Key.Key_2)
    assert dock.list.currentItem().text() == "2  debris"
    _paint_and_accept(qtbot, window, 60)
    labels = window.session.project.labels
    assert [labels.get(i.label_id).name for i in stored(window)] == ["cell", "debris"]
    key(qtbot, window, Qt.Key.Key_1)
    qtbot.mouseClick(dock.rename_button, Qt.MouseButton.LeftButton)
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor("#123456")))
    qtbot.mouseClick(dock.colour_button, Qt.MouseButton.LeftButton)
    assert labels.find("nucleus").colour == "#123456" and dock.list.item(0).text() == "1  nucleus"
    assert window.instance_dock.list.item(0).text().startswith("1. nucleus")


@pytest.mark.slow
def test_instance_list_relabel_hide_delete_and_undo(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder)
    _paint_and_accept(qtbot, window, 20)
    _paint_and_accept(qtbot, window, 60)
    _answer(monkeypatch, "cell")
    qtbot.mouseClick(window.label_dock.add_button, Qt.MouseButton.LeftButton)
    instances = window.instance_dock.list
    instances.setCurrentRow(1)
    second = stored(window)[1].id
    assert window.session.selected == second
    key(qtbot, window, Qt.Key.Key_R)
    assert window.session.project.instances.get(second).label_id == window.session.labels.current.id
    assert overlay_alpha(window.canvas.layers.instances, 35, 60) > 0
    key(qtbot, window, Qt.Key.Key_H)
    assert instances.item(1).checkState() == Qt.CheckState.Unchecked
    assert overlay_alpha(window.canvas.layers.instances, 35, 60) == 0
    assert overlay_alpha(window.canvas.layers.instances, 35, 20) > 0
    instances.item(1).setCheckState(Qt.CheckState.Checked)
    assert second not in window.session.hidden
    instances.setCurrentRow(0)
    key(qtbot, window, Qt.Key.Key_Delete)
    assert [i.id for i in stored(window)] == [second] and instances.count() == 1
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(stored(window)) == 2
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.project.labels.get(stored(window)[1].label_id).name == "object"
    assert window.actions["redo"].text() == "Redo relabel instance"


@pytest.mark.slow
def test_the_current_label_follows_the_image_and_a_kept_one_is_shown(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder)
    _answer(monkeypatch, "cell", "debris")
    for _ in range(2):
        qtbot.mouseClick(window.label_dock.add_button, Qt.MouseButton.LeftButton)
    key(qtbot, window, Qt.Key.Key_2)
    _paint_and_accept(qtbot, window, 20)  # a_scene.png: a debris instance
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (30, 20)])  # b_generated_1.png has no instance: debris is kept, and the canvas says so
    assert "Label: debris (kept from the last image" in window.canvas.hud.text()
    key(qtbot, window, Qt.Key.Key_1)
    assert "Label: cell" in window.canvas.hud.text() and "kept" not in window.canvas.hud.text()
    key(qtbot, window, Qt.Key.Key_Return)
    key(qtbot, window, Qt.Key.Key_A)  # back on a_scene.png: the label of its instance, not the one used last
    wait_ready(qtbot, window)
    assert window.session.labels.current.name == "debris"
    assert window.label_dock.list.currentItem().text() == "2  debris"
