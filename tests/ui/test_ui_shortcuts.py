"""Shortcuts: the config file is written with the defaults, a remapped key works, bad entries are reported."""
import pytest
from PySide6.QtCore import Qt

from app.ui.help_dialog import HelpDialog
from app.ui.keymap import ACTIONS, FILE_NAME, load_keymap
from window_helpers import drag, key, stored, wait_ready


@pytest.mark.slow
def test_first_run_writes_the_defaults_and_help_lists_them(qtbot, make_window, paths):
    window = make_window(ready=False)
    config = paths.config_dir / FILE_NAME
    assert config.is_file() and load_keymap(paths.config_dir).keys == {n: k for n, (_, k) in ACTIONS.items()}
    assert window.actions["redo"].shortcuts()[1].toString() == "Ctrl+Y"
    key(qtbot, window, Qt.Key.Key_F1)
    dialog = window.findChild(HelpDialog)
    assert dialog.isVisible()
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert rows["Accept the draft as an instance"] == "Return, Enter, N" and rows["Pan"].startswith("Middle drag")
    dialog.close()


@pytest.mark.slow
def test_remapped_key_works_and_invalid_entries_are_reported(qtbot, make_window, paths, folder):
    paths.config_dir.mkdir(parents=True)
    (paths.config_dir / FILE_NAME).write_text(
        '[shortcuts]\naccept = ["K"]\nnext_image = ["Ctrl+Nope"]\nfit = ["D"]\nwarp_drive = ["Z"]\n', encoding="utf-8")
    window = make_window(folder)
    errors = "\n".join(text for level, text in window.notices.history if level == "error")
    assert "next_image: 'Ctrl+Nope' is not a key" in errors and "'warp_drive'" in errors
    assert "fit: key 'D' is also bound to next_image" in errors
    assert window.notices.bar.isVisible()
    key(qtbot, window, Qt.Key.Key_B)
    drag(window, [(20, 20), (30, 20)])
    key(qtbot, window, Qt.Key.Key_Return)
    assert stored(window) == []  # Return no longer accepts
    key(qtbot, window, Qt.Key.Key_K)
    assert len(stored(window)) == 1
    key(qtbot, window, Qt.Key.Key_D)  # next_image kept its default keys
    wait_ready(qtbot, window)
    assert window.session.image.path == "b_generated_1.png"
