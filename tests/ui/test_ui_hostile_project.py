"""The window opens projects whose folder holds hostile files, or whose medium refuses writes."""
import pytest
import os
import shutil

from PIL import Image as PILImage
from PySide6.QtCore import Qt

from app.store import Project
from app.ui import launch
from mounts import remount_readonly, tmpfs
from window_helpers import click, key, wait_mask


@pytest.mark.slow
def test_a_name_that_is_not_utf8_is_named_and_the_project_opens(qtbot, make_window, folder):
    PILImage.open(folder / "a_scene.png").save(os.fsencode(folder) + b"/odd\xff.png")
    window = make_window(folder)
    assert [image.path for image in window.session.images()] == ["a_scene.png", "b_generated_1.png",
                                                                 "b_generated_2.png"]
    errors = "\n".join(text for level, text in window.notices.history if level == "error")
    assert "odd\\xff.png" in errors and "not valid UTF-8" in errors
    assert window.canvas.has_image


@pytest.mark.slow
def test_follow_links_on_the_command_line_reaches_the_scan(qtbot, make_window, folder, tmp_path):
    outside = tmp_path / "outside.png"
    PILImage.open(folder / "a_scene.png").save(outside)
    (folder / "c_link.png").symlink_to(outside)
    assert not launch.parse_args([]).follow_links and launch.parse_args(["--follow-links"]).follow_links
    window = make_window(None, ready=False)
    window.follow_links = True    # as launch.main sets it from --follow-links
    assert window.open_project(folder)
    assert "c_link.png" in [image.path for image in window.session.images()]


@pytest.mark.slow
def test_a_project_on_a_read_only_medium_opens_to_browse_and_refuses_changes(qtbot, make_window, folder, tmp_path):
    with tmpfs(tmp_path / "medium", size="8m") as medium:
        shutil.copytree(folder, medium / "images")
        with Project.open(medium / "images", create=True) as project:
            project.images.scan()
        remount_readonly(medium)
        window = make_window(medium / "images")
        assert window.session.project.readonly and window.windowTitle().endswith("images (read-only)")
        assert len(window.session.images()) == 3 and window.canvas.has_image
        assert any(level == "error" and text.startswith("read-only:") for level, text in window.notices.history)
        click(qtbot, window, 60, 64)                   # SAM still answers prompts
        wait_mask(qtbot, window)
        key(qtbot, window, Qt.Key.Key_Return)
        key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        refusals = [text for level, text in window.notices.history if "browse and export only" in text]
        assert len(refusals) == 3 and window.session.instances() == []   # the notice, accept, mark done
        key(qtbot, window, Qt.Key.Key_D)               # browsing goes on
        qtbot.waitUntil(lambda: window.session.image.path == "b_generated_1.png")
        window.shutdown()
