"""Names where the annotator reads them: the image list elides in the middle, the Labels menu shows label names."""
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from window_helpers import key, object_scene

LONG_NAMES = ["camouflage_sample_with_a_long_name_0001.png", "cells_sample_with_a_long_name_0002.png"]


@pytest.mark.slow
def test_image_list_keeps_the_category_prefix_and_the_number(qtbot, make_window, tmp_path):
    images = tmp_path / "long"
    images.mkdir()
    for name in LONG_NAMES:
        PILImage.fromarray(object_scene()[0]).save(images / name)
    window = make_window(images, ready=False)
    window.image_dock.setFloating(True)
    window.image_dock.resize(330, 300)
    qtbot.waitUntil(lambda: window.image_dock.tree.columnWidth(0) < 260)
    tree = window.image_dock.tree
    for row, name in enumerate(LONG_NAMES):
        item = tree.topLevelItem(row)
        shown = tree.fontMetrics().elidedText(item.text(0), tree.textElideMode(), tree.columnWidth(0) - 10)
        assert shown != name and "…" in shown               # too long for the column: elided
        assert shown.startswith(name.split("_")[0]) and shown.endswith(name[-8:])  # category and number seen
        assert item.toolTip(0) == name



@pytest.mark.slow
def test_labels_menu_names_the_labels_and_follows_changes(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder, ready=False)
    menu = window.menus["&Labels"]
    visible = lambda: [a.text() for a in menu.actions() if a.isVisible()]  # noqa: E731
    assert len(visible()) == 1 and not window.actions["label_1"].isEnabled()  # no label yet: one disabled hint
    answers = iter(["cell", "debris", "nucleus"])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: (next(answers), True)))
    window.label_dock.add_button.click()
    window.label_dock.add_button.click()
    assert visible() == ["cell", "debris"]
    assert window.actions["label_2"].shortcut().toString() == "2" and window.actions["label_2"].isChecked()
    key(qtbot, window, Qt.Key.Key_1)
    assert window.actions["label_1"].isChecked() and not window.actions["label_2"].isChecked()
    window.label_dock.rename_button.click()  # renames the current label, cell
    assert visible() == ["nucleus", "debris"]
    window.menus["&Labels"].actions()[1].trigger()  # choosing from the menu picks that label
    assert window.session.labels.current.name == "debris" and window.label_dock.list.currentRow() == 1
