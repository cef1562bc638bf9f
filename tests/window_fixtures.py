"""Fixtures of the window tests: per-user folders in a temporary directory, an image folder, the window itself
and an annotated project. tests/conftest.py registers this module as a plugin, so tests in every folder can use
them; the gestures and helpers they need are in window_helpers.py."""
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from app.annotate.demo_project import generated_image
from app.ui.app_paths import AppPaths
from app.ui.gui_gc import collect_on_gui_thread
from app.ui.main_window import MainWindow
from toy_shapes import write_toy_project
from window_helpers import SIZE, demo_model, object_scene, wait_ready


@pytest.fixture
def paths(tmp_path):
    return AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "cache")


@pytest.fixture
def folder(tmp_path):
    """A folder of three images: scene.png (one disc), then two generated scenes."""
    images = tmp_path / "images"
    images.mkdir()
    PILImage.fromarray(object_scene()[0]).save(images / "a_scene.png")
    for i in (1, 2):
        PILImage.fromarray(generated_image(i, SIZE)).save(images / f"b_generated_{i}.png")
    return images


@pytest.fixture
def make_window(qtbot, paths):
    """make_window(folder, loader=demo_model(), ready=True): the window shown with `folder` open."""
    windows = []

    def make(folder=None, loader=None, ready=True, keymap=None):
        window = MainWindow(paths, loader or demo_model(), keymap=keymap)
        windows.append(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)  # shortcuts reach only the active window
        if folder is not None:
            assert window.open_project(folder)
        if ready:
            wait_ready(qtbot, window)
        return window

    with collect_on_gui_thread():  # as the app does: a worker thread must never free a Qt object
        yield make
        for window in windows:  # closed here, not by qtbot, so no "unaccepted masks" question can block
            window.shutdown()
            window.close()
            window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def annotated(tmp_path):
    """A project of 5 inverted toy images, one accepted instance each."""
    return write_toy_project(tmp_path / "annotated")
