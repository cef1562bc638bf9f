"""Canvas navigation: wheel and keyboard zoom, pan with middle drag, Space+drag or the arrows, fit, brush size."""
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.annotate.demo_project import generated_image
from app.ui.canvas_view import ZOOM_STEP
from window_helpers import drag, key, wait_ready


def _wheel(window, at: QPoint, steps: int, modifiers=Qt.KeyboardModifier.NoModifier):
    viewport = window.canvas.viewport()
    event = QWheelEvent(QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


@pytest.mark.slow
def test_zoom_at_the_cursor_pan_and_fit(qtbot, make_window, folder):
    window = make_window(folder)
    view = window.canvas
    fitted = view.zoom()
    at = view.mapFromScene(QPointF(40, 30))
    _wheel(window, at, 3)
    assert view.zoom() > 1.9 * fitted
    assert (view.mapToScene(at) - QPointF(40, 30)).manhattanLength() < 2  # the pixel under the cursor stays put
    before = view.mapToScene(view.viewport().rect().center())
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(viewport, QPoint(200, 250))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 250))
    moved = view.mapToScene(view.viewport().rect().center())
    assert moved.x() > before.x() and moved.y() > before.y()
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(window, [(60, 60), (50, 50)])
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert window.session.draft.empty  # a Space drag pans; it is no box
    key(qtbot, window, Qt.Key.Key_F)
    assert abs(view.zoom() - fitted) < 1e-6


@pytest.mark.slow
def test_brush_size_with_brackets_and_ctrl_wheel(qtbot, make_window, folder):
    window = make_window(folder)
    key(qtbot, window, Qt.Key.Key_B)
    radius = window.canvas.brush_radius
    key(qtbot, window, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_radius == radius * 1.25
    _wheel(window, QPoint(100, 100), -2, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.brush_radius < radius
    assert window.status.tool.text().startswith("Tool: brush (")
    key(qtbot, window, Qt.Key.Key_B)
    assert window.status.tool.text() == "Tool: prompts"


@pytest.mark.slow
def test_closing_with_an_unaccepted_mask_asks_first(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (30, 20)])
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.No))
    window.close()
    assert window.isVisible() and "a_scene.png" in asked[0]


@pytest.fixture
def tall_folder(tmp_path):
    """A square and a portrait image: both narrower than the wide canvas once fitted."""
    images = tmp_path / "tall"
    images.mkdir()
    PILImage.fromarray(generated_image(1, (200, 200))).save(images / "a_square.png")
    PILImage.fromarray(generated_image(2, (150, 250))).save(images / "b_portrait.png")
    return images


def _settled(qtbot, window):
    """Let the scroll bars a zoom brings appear, and the resize they cause run."""
    qtbot.wait(50)
    QApplication.processEvents()


@pytest.mark.slow
def test_wheel_zoom_stays_on_square_and_portrait_images_in_a_wide_window(qtbot, make_window, tall_folder):
    window = make_window(tall_folder)
    view = window.canvas
    for _ in range(2):  # the square image, then the portrait one
        assert view.viewport().width() > view.viewport().height()
        fitted = view.zoom()
        at = view.viewport().rect().center()
        _wheel(window, at, 1)
        _settled(qtbot, window)
        assert view.zoom() == pytest.approx(fitted * ZOOM_STEP)
        assert view.verticalScrollBar().maximum() > 0  # zoomed past the window's height: it scrolls
        window.resize(window.width() - 40, window.height())  # a later resize keeps the zoom too
        _settled(qtbot, window)
        assert view.zoom() == pytest.approx(fitted * ZOOM_STEP)
        key(qtbot, window, Qt.Key.Key_D)
        wait_ready(qtbot, window)
    assert window.session.image.path == "b_portrait.png"


@pytest.mark.slow
def test_keyboard_zoom_and_pan(qtbot, make_window, tall_folder):
    window = make_window(tall_folder)
    view = window.canvas
    fitted = view.zoom()
    key(qtbot, window, Qt.Key.Key_Plus)
    key(qtbot, window, Qt.Key.Key_Equal)
    _settled(qtbot, window)
    assert view.zoom() == pytest.approx(fitted * ZOOM_STEP ** 2)
    key(qtbot, window, Qt.Key.Key_Minus)
    assert view.zoom() == pytest.approx(fitted * ZOOM_STEP)
    key(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(1.0)
    assert window.session.labels.current is None  # Ctrl+1 is no label key
    key(qtbot, window, Qt.Key.Key_0)
    _settled(qtbot, window)
    assert view.zoom() == pytest.approx(fitted) and view.fitted
    for _ in range(3):  # about twice the fitted size: wider and taller than the canvas
        key(qtbot, window, Qt.Key.Key_Plus)
    _settled(qtbot, window)
    bars = view.horizontalScrollBar(), view.verticalScrollBar()
    assert all(bar.maximum() > 0 for bar in bars)
    before = [bar.value() for bar in bars]
    key(qtbot, window, Qt.Key.Key_Right)
    key(qtbot, window, Qt.Key.Key_Down)
    after = [bar.value() for bar in bars]
    assert after[0] > before[0] and after[1] > before[1]
    key(qtbot, window, Qt.Key.Key_Left)
    key(qtbot, window, Qt.Key.Key_Up)
    assert [bar.value() for bar in bars] == before
    window.image_dock.tree.setFocus()  # with the focus in the image list, the arrows move through the list
    qtbot.keyClick(window.image_dock.tree, Qt.Key.Key_Down)
    assert window.session.image.path == "b_portrait.png"
