"""Proposals > Proposal settings… in the real window: the dialog shows the model's parameters, OK keeps them for
that model (the next run uses them, a new window finds them), Restore Defaults puts the model's defaults back, and a
kept value that is not valid gives way to the defaults."""
import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.services.proposing import DEMO_PARAMS
from app.ui.proposal_settings import KEY, saved_params
from window_helpers import DEMO_WEIGHTS, key

pytestmark = pytest.mark.skipif(not DEMO_WEIGHTS, reason="the settings are the demo model's")


def settings_dialog(qtbot, window):
    window.actions["proposal_settings"].trigger()
    dialog = window.proposing.dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


@pytest.mark.slow
def test_the_settings_are_kept_per_model_and_used_by_the_next_run(qtbot, make_window, tmp_path):
    folders = [tmp_path / "first", tmp_path / "second"]
    image = np.full((96, 128, 3), 40, np.uint8)
    cv2.circle(image, (60, 50), 20, (230, 200, 60), -1)
    for folder in folders:
        folder.mkdir()
        cv2.imwrite(str(folder / "disc.png"), image)
    window = make_window(folders[0])
    dialog = settings_dialog(qtbot, window)
    assert dialog.points.value() == DEMO_PARAMS.points_per_side == 16
    dialog.points.setValue(8)
    dialog.predicted_iou.setValue(0.4)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    with qtbot.waitSignal(window.proposing._run_job) as started, \
            qtbot.waitSignal(window.proposing.ended, timeout=60000):
        key(qtbot, window, Qt.Key.Key_P)
    params = started.args[0].params
    assert (params.points_per_side, params.pred_iou_thresh) == (8, 0.4)
    assert params.stability_score_thresh == DEMO_PARAMS.stability_score_thresh   # untouched fields kept

    again = make_window(folders[1])   # the same settings file: a new start finds them
    dialog = settings_dialog(qtbot, again)
    assert (dialog.points.value(), dialog.predicted_iou.value()) == (8, 0.4)
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert dialog.points.value() == 16 and dialog.params() == DEMO_PARAMS
    dialog.reject()
    assert saved_params(again.proposing._settings, "demo").points_per_side == 8   # Cancel keeps what was kept


@pytest.mark.slow
def test_a_kept_value_that_is_not_valid_gives_the_defaults(qtbot, make_window):
    window = make_window(ready=False)
    settings = window.proposing._settings
    settings.setValue(KEY.format(arch="demo"), '{"points_per_side": 0}')
    assert saved_params(settings, "demo") == DEMO_PARAMS
    settings.setValue(KEY.format(arch="demo"), "not json")
    assert saved_params(settings, "demo") == DEMO_PARAMS
