"""Moving between images, image status, reopening a project, unreadable images and locked projects."""
import pytest
import numpy as np
from PIL import Image as PILImage
from PySide6.QtCore import Qt

from app.store import ImageStatus, Project
from window_helpers import click, drag, key, overlay_alpha, stored, wait_mask, wait_ready


def _current_row(window):
    return window.image_dock.tree.indexOfTopLevelItem(window.image_dock.tree.currentItem())


@pytest.mark.slow
def test_next_and_previous_with_keys_and_the_list(qtbot, make_window, folder):
    window = make_window(folder)
    names = [window.image_dock.tree.topLevelItem(i).text(0) for i in range(3)]
    assert names == ["a_scene.png", "b_generated_1.png", "b_generated_2.png"]
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    assert window.session.image.path == names[1] and _current_row(window) == 1
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.image.path == names[2] and window.status.position.text() == "Image 3 of 3"
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.image.path == names[2]
    key(qtbot, window, Qt.Key.Key_PageUp)
    key(qtbot, window, Qt.Key.Key_A)
    assert window.session.image.path == names[0]
    window.image_dock.tree.setCurrentItem(window.image_dock.tree.topLevelItem(2))
    assert window.session.image.path == names[2]
    wait_ready(qtbot, window)
    prefetch = window.status.prefetch   # the prefetcher reports on its own after the image is ready
    qtbot.waitUntil(lambda: "Prefetch" in prefetch.text() or "ready" in prefetch.text(), timeout=30000)


@pytest.mark.slow
def test_mark_done_and_reopen_restores_instances(qtbot, make_window, folder):
    window = make_window(folder)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (40, 20)])
    key(qtbot, window, Qt.Key.Key_Return)
    key(qtbot, window, Qt.Key.Key_B)  # accepting went back to the prompt tool
    drag(window, [(20, 80), (40, 90)])
    key(qtbot, window, Qt.Key.Key_Return)
    key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    row = window.image_dock.tree.topLevelItem(0)
    assert (row.text(1), row.text(2)) == ("done", "2")
    masks = [i.mask.copy() for i in stored(window)]
    window.shutdown()
    again = make_window(folder)
    assert again.session.image.path == "a_scene.png"  # where the annotator left it, although it is done
    assert again.instance_dock.list.count() == 2
    assert [(m == i.mask).all() for m, i in zip(masks, stored(again))] == [True, True]
    assert again.session.project.images.get(again.session.image.id).status == ImageStatus.DONE
    assert overlay_alpha(again.canvas.layers.instances, 30, 20) > 0


@pytest.mark.slow
def test_unreadable_images_are_named_and_the_rest_works(qtbot, make_window, folder):
    good = (folder / "b_generated_1.png").read_bytes()
    (folder / "a_broken.png").write_bytes(good)
    with Project.open(folder, create=True) as project:
        project.images.scan()
    (folder / "a_broken.png").write_bytes(good[: len(good) // 3])  # registered, then damaged on disk
    (folder / "a_garbage.png").write_bytes(b"not an image at all")  # never registered
    window = make_window(folder, ready=False)
    qtbot.waitUntil(lambda: window.image_dock.tree.topLevelItem(0).text(1) == "unreadable", timeout=15000)
    errors = "\n".join(text for level, text in window.notices.history if level == "error")
    assert "a_garbage.png" in errors and "a_broken.png" in errors
    assert "a_broken.png" in window.canvas.hud.text()
    click(qtbot, window, 10, 10)
    assert window.session.draft.empty
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    click(qtbot, window, 60, 64)
    wait_mask(qtbot, window)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(5, 5), (9, 5)])
    key(qtbot, window, Qt.Key.Key_Return)
    assert len(stored(window)) == 1


def _accept_a_stroke_and_quit(qtbot, window):
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (40, 20)])
    key(qtbot, window, Qt.Key.Key_Return)
    window.shutdown()


@pytest.mark.slow
def test_an_image_changed_on_disk_is_flagged_until_its_instances_are_kept(qtbot, make_window, folder):
    _accept_a_stroke_and_quit(qtbot, make_window(folder))
    image = PILImage.open(folder / "a_scene.png")
    PILImage.fromarray(255 - np.asarray(image)).save(folder / "a_scene.png")  # same size, other pixels
    again = make_window(folder)
    key(qtbot, again, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: again.image_dock.tree.topLevelItem(0).text(1) == "changed on disk", timeout=15000)
    assert "a_scene.png changed on disk" in again.notices.bar.text.text()
    assert len(stored(again)) == 1  # nothing is dropped: the annotator decides
    keep = again.actions["keep_changed_image"]
    assert keep.isEnabled()
    keep.trigger()
    assert again.image_dock.tree.topLevelItem(0).text(1) != "changed on disk" and not keep.isEnabled()
    key(qtbot, again, Qt.Key.Key_D)
    key(qtbot, again, Qt.Key.Key_A)
    wait_ready(qtbot, again)
    assert again.image_dock.tree.topLevelItem(0).text(1) != "changed on disk"


@pytest.mark.slow
def test_an_image_resized_on_disk_is_refused_and_its_instances_kept(qtbot, make_window, folder):
    _accept_a_stroke_and_quit(qtbot, make_window(folder))
    PILImage.open(folder / "a_scene.png").resize((80, 60)).save(folder / "a_scene.png")
    again = make_window(folder, ready=False)
    key(qtbot, again, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: again.image_dock.tree.topLevelItem(0).text(1) == "unreadable", timeout=15000)
    assert "is now 80x60 pixels, no longer the 160x120" in again.notices.bar.text.text()
    with Project.open(folder, readonly=True) as project:
        assert len(project.instances.for_image(project.images.find("a_scene.png").id)) == 1


@pytest.mark.slow
def test_project_open_in_another_writer_gives_a_clear_message(qtbot, make_window, folder):
    holder = Project.open(folder, create=True)
    try:
        window = make_window(ready=False)
        assert not window.open_project(folder)
        level, text = window.notices.history[-1]
        assert level == "error" and "already open for writing" in text and str(folder) in text
        assert window.session is None and window.windowTitle() == "MoPEFT Annotator"
    finally:
        holder.close()
    assert window.open_project(folder)
    assert window.windowTitle() == f"MoPEFT Annotator — {folder.resolve()}"   # the whole path: which "images"
