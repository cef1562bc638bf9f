"""Gestures and helpers of the window tests; their fixtures are in tests/window_fixtures.py.

The window runs as the app does (worker threads, on-disk embedding cache), with every per-user folder in a
temporary directory and the `demo` model: its shipped weights when resources/models/demo_sam.pth exists,
random weights of the demo architecture until then.
"""
import copy
import functools
import time

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.annotate.model_choice import ModelChoice, ModelLoad, load_model
from app.sam.checkpoints import load_sam
from app.sam.checkpoints import CHECKPOINTS
from fixture_paths import TINY_SAM

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


@functools.cache
def _demo_load() -> ModelLoad:
    return load_model(ModelChoice(device="cpu"))


def demo_model(delay: float = 0.0):
    """The model loader the app uses by default (on CPU), its encoder made `delay` seconds slower.

    Each window gets its own copy of one load per test process: a copy takes a fifth of a load's time, and a
    test that trains or wraps its model changes only its copy."""
    def load():
        model = copy.deepcopy(_demo_load())
        if delay:
            encoder = model.loaded.sam.image_encoder
            forward = encoder.forward

            def slow_forward(x):
                time.sleep(delay)
                return forward(x)

            encoder.forward = slow_forward
        return model
    return load


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


def tiny_model():
    """The tiny SAM fixture (trained on toy shapes): training steps take milliseconds."""
    return ModelLoad(load_sam(TINY_SAM, device="cpu"), "tiny-fixture", "tests run on the CPU")


def version_rows(window):
    """The rows of the versions table, top to bottom."""
    tree = window.training_dock.versions.tree
    return [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
