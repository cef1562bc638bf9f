"""The candidate chooser: SAM's three masks for one click as thumbnails, best score first; click or Tab to pick."""
import pytest
import numpy as np
from PySide6.QtCore import Qt

from window_helpers import DISC, click, key, stored, wait_mask


def _by_score(prediction):
    return [int(i) for i in np.argsort(-prediction.scores, kind="stable")]


@pytest.mark.slow
def test_thumbnails_best_first_click_and_tab_pick_a_candidate(qtbot, make_window, folder):
    window = make_window(folder)
    chooser = window.canvas_controller.chooser
    assert not chooser.isVisible()
    click(qtbot, window, *DISC[:2])
    wait_mask(qtbot, window)
    prediction, shown = window.session.candidates
    order = _by_score(prediction)
    assert chooser.isVisible() and shown == order[0]
    assert [b.property("candidate") for b in chooser.buttons] == order
    assert [b.isChecked() for b in chooser.buttons] == [True, False, False]
    assert [b.text().split("· ")[1] for b in chooser.buttons] == [f"{prediction.scores[i]:.2f}" for i in order]
    assert "best" in chooser.buttons[0].text() and "(best)" in window.canvas.hud.text()
    icons = [b.icon().pixmap(b.iconSize()).toImage() for b in chooser.buttons]
    assert all(max(icon.width(), icon.height()) == 96 for icon in icons)
    if not np.array_equal(prediction.masks[order[0]].dense(), prediction.masks[order[2]].dense()):
        assert icons[0] != icons[2]                                   # each thumbnail shows its own mask
    geometry, viewport = chooser.geometry(), window.canvas.viewport().geometry()
    assert viewport.contains(geometry) and geometry.right() > viewport.center().x()  # over the canvas, right
    qtbot.mouseClick(chooser.buttons[2], Qt.MouseButton.LeftButton)   # the worst-scored one
    assert window.session.candidates[1] == order[2]
    assert np.array_equal(window.session.draft_mask.dense(), prediction.masks[order[2]].dense())
    assert [b.isChecked() for b in chooser.buttons] == [False, False, True]
    qtbot.mouseClick(chooser.buttons[2], Qt.MouseButton.LeftButton)   # the one shown: stays shown and framed
    assert chooser.buttons[2].isChecked() and window.session.candidates[1] == order[2]
    key(qtbot, window, Qt.Key.Key_Tab)                                 # after the last: the best again
    assert window.session.candidates[1] == order[0] and chooser.buttons[0].isChecked()
    key(qtbot, window, Qt.Key.Key_Tab)
    assert window.session.candidates[1] == order[1]
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # picks are undoable
    assert window.session.candidates[1] == order[0] and chooser.buttons[0].isChecked()
    click(qtbot, window, 10, 10, Qt.MouseButton.RightButton)          # two points: one mask, no chooser
    wait_mask(qtbot, window)
    assert not chooser.isVisible()
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert chooser.isVisible()                                        # back to the click and its three masks
    key(qtbot, window, Qt.Key.Key_Return)
    assert len(stored(window)) == 1 and not chooser.isVisible()
