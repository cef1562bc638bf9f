"""Export from the window: File > Export COCO / PNG masks opens a dialog that writes the project's instances in a
worker thread with progress and cancel, names the result, and refuses a target that would overwrite the project;
the title names the project folder and File > Show project folder opens it."""
import json
import time

import pytest
from pycocotools.coco import COCO
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices

import app.coco.png_export as png_export
from app.store.image_files import PNG_EXPORT_LEGEND
from window_helpers import tiny_model


def _export(qtbot, window, timeout=30000) -> str:
    """Press the dialog's Export button and wait for the export to end; its message."""
    with qtbot.waitSignal(window.export.ended, timeout=timeout) as ended:
        qtbot.mouseClick(window.export.dialog.export_button, Qt.MouseButton.LeftButton)
    return ended.args[0]


def _choose(qtbot, window, fmt: str) -> None:
    button = window.export.dialog.buttons[fmt]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))   # on its circle
    assert button.isChecked()


@pytest.mark.slow
def test_export_coco_and_png_from_the_file_menu(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    project = window.session.project
    assert str(annotated) in window.windowTitle()
    qtbot.keyClick(window.canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)   # File > Export COCO…
    dialog = window.export.dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.buttons["coco"].isChecked() and "5 accepted instance(s) on 5 image(s)" in dialog.counts.text()
    assert dialog.target.text() == str(annotated / "annotations_coco.json")

    message = _export(qtbot, window)
    target = annotated / "annotations_coco.json"
    assert message.startswith(f"Wrote {target}: 5 images, 5 annotations (RLE)"), message
    assert window.statusBar().currentMessage().startswith(f"Wrote {target}")
    assert message in dialog.result.text() and dialog.progress.value() == dialog.progress.maximum() == 5
    coco = COCO(str(target))
    assert len(coco.anns) == 5 and {a["id"] for a in coco.anns.values()} == {
        i.id for image in project.images.list() for i in project.instances.for_image(image.id)}

    _choose(qtbot, window, "coco-polygons")
    assert dialog.target.text() == str(annotated / "annotations_coco_polygons.json")
    assert "(polygons)" in _export(qtbot, window)
    assert all(isinstance(a["segmentation"], list) for a in COCO(dialog.target.text()).anns.values())

    _choose(qtbot, window, "png")
    assert dialog.target.text() == str(annotated / "masks")
    assert "5 instances" in _export(qtbot, window)
    legend = json.loads((annotated / "masks" / PNG_EXPORT_LEGEND).read_text())
    assert legend["complete"] and len(legend["images"]) == 5
    assert window.session.project.images.scan().added == []   # the masks are not new images

    # a PNG export into the project folder itself is refused in the dialog, before any thread starts
    dialog.target.clear()
    qtbot.keyClicks(dialog.target, str(annotated))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "Not exported" in dialog.result.text() and "is the project folder itself" in dialog.result.text()
    assert not (annotated / PNG_EXPORT_LEGEND).exists() and not window.export.running
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


@pytest.mark.slow
def test_cancel_stops_a_png_export_and_the_window_goes_on(qtbot, make_window, annotated, monkeypatch):
    window = make_window(annotated, loader=tiny_model)
    write = png_export._write_png

    def slow_write(path, array):
        time.sleep(0.2)
        write(path, array)

    monkeypatch.setattr(png_export, "_write_png", slow_write)
    window.actions["export_png"].trigger()
    dialog = window.export.dialog
    with qtbot.waitSignal(window.export.ended, timeout=30000) as ended:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=20000)
        assert not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].startswith("Export cancelled")
    legend = json.loads((annotated / "masks" / PNG_EXPORT_LEGEND).read_text())
    assert legend["complete"] is False and dialog.progress.value() < 5
    assert dialog.export_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert window.session.project.images.scan().added == []   # the partial folder is still marked as masks


@pytest.mark.parametrize("opens", [True, False])
@pytest.mark.slow
def test_show_project_folder_opens_it_in_the_file_manager(qtbot, make_window, annotated, monkeypatch, opens):
    window = make_window(annotated, loader=tiny_model)
    asked = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: asked.append(url) or opens)
    window.actions["show_project_folder"].trigger()
    assert asked == [QUrl.fromLocalFile(str(annotated))]
    assert (str(annotated) in window.notices.bar.text.text()) != opens
