"""Canvas navigation: wheel zoom at the cursor, pan with middle drag or Space+drag, fit, brush size."""
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from test_ui_harness import drag, folder, key, make_window, paths  # noqa: F401  (fixtures)


def _wheel(window, at: QPoint, steps: int, modifiers=Qt.KeyboardModifier.NoModifier):
    viewport = window.canvas.viewport()
    event = QWheelEvent(QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


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


def test_closing_with_an_unaccepted_mask_asks_first(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder)
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (30, 20)])
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.No))
    window.close()
    assert window.isVisible() and "a_scene.png" in asked[0]
