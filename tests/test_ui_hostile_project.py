"""The window opens projects whose folder holds hostile files, or whose medium refuses writes."""
import os

from PIL import Image as PILImage

from test_ui_harness import folder, make_window, paths  # noqa: F401  (fixtures)


def test_a_name_that_is_not_utf8_is_named_and_the_project_opens(qtbot, make_window, folder):
    PILImage.open(folder / "a_scene.png").save(os.fsencode(folder) + b"/odd\xff.png")
    window = make_window(folder)
    assert [image.path for image in window.session.images()] == ["a_scene.png", "b_generated_1.png",
                                                                 "b_generated_2.png"]
    errors = "\n".join(text for level, text in window.notices.history if level == "error")
    assert "odd\\xff.png" in errors and "not valid UTF-8" in errors
    assert window.canvas.has_image
