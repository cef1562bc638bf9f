"""Proposals in the real window with the real generator on the demo model: propose on an image (P), the outlines
and the score under the cursor, accept (Y), reject (X), correct one into an instance (C, brush, Enter), accept all
above the threshold, the image list's counts, the export holding only the accepted; propose on every image
without instances in the background, cancel it, and the window goes on."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pycocotools.coco import COCO

from app.services.proposing import AutoParams
from app.store import InstanceSource, ProposalState
from app.store.masks import mask_to_rle
from window_helpers import DEMO_WEIGHTS, click, drag, key, object_scene, stored, viewport_pos, wait_mask

pytestmark = pytest.mark.skipif(not DEMO_WEIGHTS, reason="the proposals need the trained demo model")

PARAMS = AutoParams(points_per_side=16, pred_iou_thresh=0.5, stability_score_thresh=0.8)
DISCS = [(35, 35, 20), (110, 40, 24), (70, 90, 18)]   # centre x, centre y, radius
SHIFT = Qt.KeyboardModifier.ShiftModifier


def discs_scene(seed: int = 7) -> np.ndarray:
    """Three bright discs of three colours on a dark textured background, 160 x 120."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(50, 8, (120, 160, 3)), 0, 255).astype(np.uint8)
    for (x, y, r), colour in zip(DISCS, [(230, 200, 60), (60, 200, 230), (220, 80, 200)]):
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.circle(mask, (x, y), r, 1, -1)
        image[mask.astype(bool)] = colour
    return image


@pytest.fixture
def discs(tmp_path):
    """A folder of one image of three discs."""
    folder = tmp_path / "discs"
    folder.mkdir()
    PILImage.fromarray(discs_scene()).save(folder / "discs.png")
    return folder


def hover(window, x, y):
    """Move the mouse over image pixel (x, y)."""
    QTest.mouseMove(window.canvas.viewport(), viewport_pos(window, x, y))
    assert window.canvas.hover == (x, y)


def propose(qtbot, window, modifier=Qt.KeyboardModifier.NoModifier, timeout=60000) -> str:
    """P (Shift+P: every image without instances) and wait until the run ends; its message."""
    window.proposing.params = PARAMS
    with qtbot.waitSignal(window.proposing.ended, timeout=timeout) as ended:
        key(qtbot, window, Qt.Key.Key_P, modifier)
    return ended.args[0]


def proposal_count(window, row=0) -> str:
    return window.image_dock.tree.topLevelItem(row).text(3)


@pytest.mark.slow
def test_propose_accept_reject_correct_and_export(qtbot, make_window, discs):
    window = make_window(discs)
    assert "1 image(s)" in propose(qtbot, window)
    pending = window.session.proposals()
    assert len(pending) >= 3 and not window.canvas.layers.proposals.path().isEmpty()
    assert proposal_count(window) == str(len(pending))

    x, y, r = DISCS[0]
    hover(window, x, y)
    first = window.proposal_view.hovered
    assert first is not None and first.mask[y, x] and first.area < np.pi * (r + 3) ** 2   # the disc, not a union
    assert f"predicted IoU {first.predicted_iou:.2f}" in window.statusBar().currentMessage()
    assert not window.canvas.layers.hovered_proposal.path().isEmpty()
    key(qtbot, window, Qt.Key.Key_Y)
    (instance,) = stored(window)
    assert instance.proposal_id == first.id and np.array_equal(instance.mask, first.mask) and instance.unedited
    assert proposal_count(window) == str(len(pending) - 1) and window.image_dock.tree.topLevelItem(0).text(2) == "1"

    x, y, _ = DISCS[1]
    hover(window, x, y)
    second = window.proposal_view.hovered
    key(qtbot, window, Qt.Key.Key_X)
    assert window.session.project.proposals.get(second.id).state is ProposalState.REJECTED
    assert proposal_count(window) == str(len(pending) - 2) and len(stored(window)) == 1

    x, y, _ = DISCS[2]
    hover(window, x, y)
    third = window.proposal_view.hovered
    key(qtbot, window, Qt.Key.Key_C)
    assert np.array_equal(window.session.draft_mask.dense(), third.mask) and window.session.draft.proposal == third.id
    key(qtbot, window, Qt.Key.Key_P)   # would replace the proposal the draft is made from
    assert not window.proposing.running and "made from a proposal" in window.statusBar().currentMessage()
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(140, 100), (150, 100)])
    key(qtbot, window, Qt.Key.Key_Return)
    corrected = stored(window)[-1]
    assert corrected.proposal_id == third.id and corrected.source == InstanceSource.CORRECTED
    assert corrected.mask[100, 140:151].all() and not third.mask[100, 140:151].any()
    assert window.session.project.proposals.get(third.id).state is ProposalState.ACCEPTED

    key(qtbot, window, Qt.Key.Key_X, SHIFT)   # reject the rest
    assert window.session.proposals() == [] and proposal_count(window) == ""
    assert window.canvas.layers.proposals.path().isEmpty()
    qtbot.keyClick(window.canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)   # File > Export COCO…
    dialog = window.export.dialog
    qtbot.waitUntil(dialog.isVisible)
    with qtbot.waitSignal(window.export.ended, timeout=30000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    exported = COCO(dialog.target.text())
    assert sorted(a["id"] for a in exported.anns.values()) == sorted([instance.id, corrected.id])


@pytest.mark.slow
def test_accept_all_above_the_threshold_in_one_undo_step(qtbot, make_window, discs):
    window = make_window(discs)
    propose(qtbot, window)
    pending = window.session.proposals()
    threshold = pending[1].predicted_iou   # the two best and any tied with them
    window.proposing.set_threshold(threshold)
    assert f"{round(threshold, 2):.2f}" in window.actions["accept_proposals_above"].text()
    key(qtbot, window, Qt.Key.Key_Y, SHIFT)
    above = [p for p in pending if p.predicted_iou >= round(threshold, 2)]
    assert sorted(i.proposal_id for i in stored(window)) == sorted(p.id for p in above)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored(window) == [] and len(window.session.proposals()) == len(pending)


@pytest.mark.slow
def test_propose_on_every_image_cancel_and_go_on(qtbot, make_window, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(7):
        PILImage.fromarray(discs_scene(seed=n)).save(folder / f"discs_{n}.png")
    PILImage.fromarray(object_scene()[0]).save(folder / "z_scene.png")
    window = make_window(folder)
    window.proposing.params = PARAMS
    done = []
    window.proposing.worker.proposed.connect(lambda event, _outlines: done.append(event.image.id))
    with qtbot.waitSignal(window.proposing.ended, timeout=60000) as ended:
        key(qtbot, window, Qt.Key.Key_P, SHIFT)
        click(qtbot, window, *DISCS[0][:2])   # the annotator works on meanwhile: the click gets its mask
        wait_mask(qtbot, window)
        qtbot.waitUntil(lambda: len(done) >= 1, timeout=30000)
        assert window.proposal_status.isVisible() and window.actions["cancel_proposals"].isEnabled()
        window.actions["cancel_proposals"].trigger()
    assert "cancelled" in ended.args[0] and not window.proposal_status.isVisible()
    counts = window.session.pending_proposal_counts()
    assert 1 <= sum(1 for n in counts.values() if n) < 8
    assert [proposal_count(window, row) != "" for row in range(8)] == [bool(counts[i.id])
                                                                       for i in window.session.images()]
    key(qtbot, window, Qt.Key.Key_Escape)
    assert "image(s)" in propose(qtbot, window, SHIFT)   # again: only the images not done yet
    assert all(window.session.pending_proposal_counts()[i.id] for i in window.session.images()[:7])


@pytest.mark.slow
def test_a_ragged_proposal_is_drawn_as_edge_pixels_and_accepted_like_any(qtbot, make_window, discs):
    """Thresholded noise (thousands of specks, as a random-weight model proposes) is shown as an image of its edge
    pixels, not stroked as a path on the GUI thread; hovering and accepting it work as for a smooth one."""
    window = make_window(discs)
    qtbot.waitUntil(lambda: window.proposal_view._shown is not None)
    ragged = np.zeros((120, 160), bool)
    ragged[10:110, 10:150] = np.random.default_rng(0).random((100, 140)) > 0.5
    ragged[60, 80] = True
    made = SimpleNamespace(rle=mask_to_rle(ragged), predicted_iou=0.5, stability=0.6, point=(80.0, 60.0))
    window.session.project.proposals.replace_pending(window.session.image.id, [made], "demo")
    window.proposal_view.refresh()
    layers = window.canvas.layers
    assert layers.proposals.path().isEmpty() and not layers.ragged_proposals.pixmap().isNull()
    assert layers.ragged_proposals.offset().x() == 10 and layers.ragged_proposals.pixmap().width() == 140
    hover(window, 80, 60)
    assert window.proposal_view.hovered is not None and not layers.hovered_ragged.pixmap().isNull()
    key(qtbot, window, Qt.Key.Key_Y)
    (instance,) = stored(window)
    assert np.array_equal(instance.mask, ragged)
    assert layers.ragged_proposals.pixmap().isNull() and layers.hovered_ragged.pixmap().isNull()
