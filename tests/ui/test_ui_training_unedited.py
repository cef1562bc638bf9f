"""The fine-tuning dock says how many instances were accepted unedited before a run, and leaves them out when
the annotator ticks the box."""
import pytest
import numpy as np
from PySide6.QtCore import QPoint, Qt

from toy_shapes import write_toy_project
from window_helpers import drag, key, tiny_model, wait_mask


@pytest.mark.slow
def test_the_dock_counts_unedited_instances_and_leaves_them_out_on_request(qtbot, make_window, tmp_path):
    folder = write_toy_project(tmp_path / "annotated")  # 5 instances stored without the mark: unknown
    window = make_window(folder, loader=tiny_model)
    box = window.training_dock.form.skip_unedited
    assert not box.isEnabled() and "none so far" in box.text() and "5 accepted before this" in box.text()

    (known,) = window.session.instances()  # draw a box a little larger than the object: one prompt, no edit
    ys, xs = np.nonzero(known.mask)
    drag(window, [(xs.min() - 3, ys.min() - 3), (xs.max() + 3, ys.max() + 3)])
    wait_mask(qtbot, window)
    if not window.session.draft_mask.any():  # the tiny model may miss; then try SAM's other candidates
        for _ in range(2):
            key(qtbot, window, Qt.Key.Key_Tab)
    assert window.session.draft_mask.any()
    key(qtbot, window, Qt.Key.Key_Return)
    assert window.session.instances()[-1].unedited is True
    assert box.isEnabled() and box.text().startswith("Leave out the 1 of 6 instances accepted unedited")

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert box.isChecked()
    dock = window.training_dock
    dock.form.steps.setValue(10)
    with qtbot.waitSignal(window.training.ended, timeout=60000) as ended:
        qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] == "Done."
    assert "left out 1 instance(s) accepted unedited" in dock.summary.text()
