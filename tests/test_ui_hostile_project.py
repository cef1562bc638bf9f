"""The window opens projects whose folder holds hostile files, or whose medium refuses writes."""
import os

from PIL import Image as PILImage

from app.ui import launch

from test_ui_harness import folder, make_window, paths  # noqa: F401  (fixtures)


def test_a_name_that_is_not_utf8_is_named_and_the_project_opens(qtbot, make_window, folder):
    PILImage.open(folder / "a_scene.png").save(os.fsencode(folder) + b"/odd\xff.png")
    window = make_window(folder)
    assert [image.path for image in window.session.images()] == ["a_scene.png", "b_generated_1.png",
                                                                 "b_generated_2.png"]
    errors = "\n".join(text for level, text in window.notices.history if level == "error")
    assert "odd\\xff.png" in errors and "not valid UTF-8" in errors
    assert window.canvas.has_image


def test_follow_links_on_the_command_line_reaches_the_scan(qtbot, make_window, folder, tmp_path):
    outside = tmp_path / "outside.png"
    PILImage.open(folder / "a_scene.png").save(outside)
    (folder / "c_link.png").symlink_to(outside)
    assert not launch.parse_args([]).follow_links and launch.parse_args(["--follow-links"]).follow_links
    window = make_window(None, ready=False)
    window.follow_links = True    # as launch.main sets it from --follow-links
    assert window.open_project(folder)
    assert "c_link.png" in [image.path for image in window.session.images()]
