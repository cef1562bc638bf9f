"""Shared fixtures and gestures for the window tests (tests/test_ui_*.py); it holds no test itself.

The window runs as the app does (worker threads, on-disk embedding cache), with every per-user folder in a
temporary directory and the `demo` model: its shipped weights when resources/models/demo_sam.pth exists,
random weights of the demo architecture until then.
"""
import time

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.annotate.demo_project import generated_image
from app.annotate.model_choice import ModelChoice, load_model
from app.sam.checkpoints import CHECKPOINTS
from app.ui.app_paths import AppPaths
from app.ui.gui_gc import collect_on_gui_thread
from app.ui.heartbeat import Heartbeat  # noqa: F401 - the window tests' stall meter
from app.ui.main_window import MainWindow

DEMO_WEIGHTS = CHECKPOINTS["demo"].path.is_file()
"""True once the trained demo model is in the repository: tests then check that masks fit the objects."""

SIZE = (160, 120)
DISC = (60, 64, 26)  # centre x, centre y, radius of the object in scene.png


def object_scene() -> tuple[np.ndarray, np.ndarray]:
    """An RGB image with one bright disc on a dark textured background, and the disc's mask."""
    rng = np.random.default_rng(7)
    w, h = SIZE
    image = np.clip(rng.normal(50, 8, (h, w, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, DISC[:2], DISC[2], 1, -1)
    image[mask.astype(bool)] = (230, 200, 60)
    return image, mask.astype(bool)


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


def demo_model(delay: float = 0.0):
    """The model loader the app uses by default (on CPU), its encoder made `delay` seconds slower."""
    def load():
        model = load_model(ModelChoice(device="cpu"))
        if delay:
            encoder = model.loaded.sam.image_encoder
            forward = encoder.forward

            def slow_forward(x):
                time.sleep(delay)
                return forward(x)

            encoder.forward = slow_forward
        return model
    return load


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


def wait_ready(qtbot, window, timeout=30000):
    """Wait until the current image is shown and its embedding is ready."""
    qtbot.waitUntil(lambda: window.canvas.has_image and window.status.embedding.text().startswith("Embedding ready"),
                    timeout=timeout)


def wait_mask(qtbot, window, timeout=15000):
    """Wait until SAM has answered the draft's prompts."""
    qtbot.waitUntil(lambda: window.session.candidates is not None and not window.session.pending, timeout=timeout)


def viewport_pos(window, x, y):
    return window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton):
    """Click the canvas on image pixel (x, y)."""
    qtbot.mouseClick(window.canvas.viewport(), button, pos=viewport_pos(window, x, y))


def drag(window, points, button=Qt.MouseButton.LeftButton):
    """Press on the first image pixel, move through the others, release on the last."""
    viewport = window.canvas.viewport()
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, viewport_pos(window, *points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(viewport, viewport_pos(window, x, y))
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, viewport_pos(window, *points[-1]))


def key(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    """Press a key with the canvas focused, as the annotator does."""
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifier)


def overlay_alpha(item, x, y):
    """Opacity of an overlay pixmap item (drawn over part of the image) at image pixel (x, y); 0 outside it."""
    image, offset = item.pixmap().toImage(), item.offset()
    px, py = int(x - offset.x()), int(y - offset.y())
    return image.pixelColor(px, py).alpha() if image.valid(px, py) else 0


def stored(window):
    """The instances of the current image as the project store has them."""
    return window.session.project.instances.for_image(window.session.image.id)
