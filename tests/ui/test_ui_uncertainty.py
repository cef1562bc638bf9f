"""Which image next, in the window: after proposing on every image, the image list tells each image's doubt (from
its pending proposals), U opens the most uncertain other image without instances, and Image > Sort by uncertainty
lists them most uncertain first with a Doubt column."""
import pytest
from PySide6.QtCore import Qt

from app.autoseg.uncertainty import image_uncertainty
from app.services.proposing import AutoParams
from app.store import ProposalState
from window_helpers import DEMO_WEIGHTS, key

pytestmark = pytest.mark.skipif(not DEMO_WEIGHTS, reason="the proposals need the trained demo model")

PARAMS = AutoParams(points_per_side=12, pred_iou_thresh=0.3, stability_score_thresh=0.5)


def rows(window) -> list[tuple[str, str]]:
    tree = window.image_dock.tree
    return [(tree.topLevelItem(i).text(0), tree.topLevelItem(i).text(4)) for i in range(tree.topLevelItemCount())]


@pytest.mark.slow
def test_doubt_column_jump_key_and_sort_follow_the_proposals(qtbot, make_window, folder):
    window = make_window(folder)
    window.proposing.params = PARAMS
    with qtbot.waitSignal(window.proposing.ended, timeout=120000):
        key(qtbot, window, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    project = window.session.project
    doubt = {}
    for image in project.images.list():
        pending = project.proposals.for_image(image.id, ProposalState.PENDING)
        if pending:
            doubt[image.path] = image_uncertainty(pending)
    assert doubt, "the demo model proposed nothing on any image"
    assert window.image_dock.tree.isColumnHidden(4)   # the names keep their room until the list is sorted by it
    tree = window.image_dock.tree
    tips = {tree.topLevelItem(i).text(0): tree.topLevelItem(i).toolTip(3) for i in range(tree.topLevelItemCount())}
    assert {path: tip.split(":")[0] for path, tip in tips.items() if tip} == {
        path: f"Doubt {score:.2f}" for path, score in doubt.items()}

    ranked = sorted(doubt, key=lambda path: -doubt[path])
    current = window.session.image.path
    key(qtbot, window, Qt.Key.Key_U)
    expected = next(path for path in ranked if path != current)
    assert window.session.image.path == expected

    window.actions["sort_by_uncertainty"].trigger()
    assert window.actions["sort_by_uncertainty"].isChecked() and not tree.isColumnHidden(4)
    assert [path for path, _ in rows(window)][:len(ranked)] == ranked
    assert dict(rows(window)) == {path: f"{doubt[path]:.2f}" if path in doubt else "" for path, _ in rows(window)}
    window.actions["sort_by_uncertainty"].trigger()
    assert [path for path, _ in rows(window)] == [image.path for image in project.images.list()]
    assert tree.isColumnHidden(4)
