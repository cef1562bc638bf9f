"""How masks are shown: fill opacity (O / Shift+O) and hiding every instance at once (Shift+H)."""
import pytest
from PySide6.QtCore import Qt

from app.annotate.overlay import EDGE_ALPHA, FILL_ALPHA
from window_helpers import DISC, click, drag, key, overlay_alpha, stored, wait_mask, wait_ready


def _paint_and_accept(qtbot, window):
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (40, 20)])
    key(qtbot, window, Qt.Key.Key_B)
    key(qtbot, window, Qt.Key.Key_Return)
    assert stored(window)


@pytest.mark.slow
def test_mask_opacity_steps_with_keys_and_keeps_the_outlines(qtbot, make_window, folder):
    window = make_window(folder)
    _paint_and_accept(qtbot, window)
    layers = window.canvas.layers
    assert overlay_alpha(layers.instances, 30, 20) == FILL_ALPHA
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 80), (40, 80)])           # a draft too
    key(qtbot, window, Qt.Key.Key_B)
    draft_default = overlay_alpha(layers.draft_fill, 30, 80)
    key(qtbot, window, Qt.Key.Key_O)
    fainter = overlay_alpha(layers.instances, 30, 20)
    assert 0 < fainter < FILL_ALPHA and 0 < overlay_alpha(layers.draft_fill, 30, 80) < draft_default
    assert "Mask fill" in window.statusBar().currentMessage()
    key(qtbot, window, Qt.Key.Key_O)
    key(qtbot, window, Qt.Key.Key_O)              # past the faintest step: stays there
    assert overlay_alpha(layers.instances, 30, 20) == 0 and overlay_alpha(layers.draft_fill, 30, 80) == 0
    assert overlay_alpha(layers.instances, 30, 12) == EDGE_ALPHA  # the outline is still drawn
    assert "outlines only" in window.statusBar().currentMessage()
    for _ in range(4):
        key(qtbot, window, Qt.Key.Key_O, Qt.KeyboardModifier.ShiftModifier)
    assert overlay_alpha(layers.instances, 30, 20) > FILL_ALPHA
    assert overlay_alpha(layers.draft_fill, 30, 80) > draft_default


@pytest.mark.slow
def test_hide_all_instances_and_show_them_again(qtbot, make_window, folder):
    window = make_window(folder)
    _paint_and_accept(qtbot, window)
    layers = window.canvas.layers
    assert layers.instances.isVisible()
    key(qtbot, window, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert not layers.instances.isVisible() and window.actions["hide_all_instances"].isChecked()
    assert "All instances hidden" in window.canvas.hud.text()
    assert window.session.hidden == set() and window.instance_dock.list.item(0).checkState() == Qt.CheckState.Checked
    click(qtbot, window, *DISC[:2])               # the draft is still shown
    wait_mask(qtbot, window)
    assert layers.draft_outline.isVisible() and "All instances hidden" in window.canvas.hud.text()
    key(qtbot, window, Qt.Key.Key_Escape)
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    key(qtbot, window, Qt.Key.Key_A)              # hiding holds on every image until shown again
    wait_ready(qtbot, window)
    assert not layers.instances.isVisible() and overlay_alpha(layers.instances, 30, 20) == FILL_ALPHA
    (entry,) = [a for a in window.menus["&View"].actions() if a.objectName() == "hide_all_instances"]
    entry.trigger()
    assert layers.instances.isVisible() and not entry.isChecked()
    assert "hidden" not in window.canvas.hud.text()
