"""Model > Precision: the choice switches SAM's engine, shows in the status bar, and is kept for the next start;
a command-line --precision wins for its run; a damaged setting file is named and the choice is automatic."""
import pytest
from window_helpers import wait_ready


@pytest.mark.slow
def test_choosing_bf16_re_embeds_with_it_and_the_next_start_keeps_it(qtbot, make_window, folder, paths):
    window = make_window(folder)
    assert window.actions["precision_auto"].isChecked() and not window.actions["precision_bf16"].isChecked()
    assert window.model.engine.precision == "fp32"  # the tests' $MOPEFT_PRECISION
    assert window.actions["precision_bf16"] in window.menus["&Model"].actions()
    window.actions["precision_bf16"].trigger()
    qtbot.waitUntil(lambda: window.model.engine.precision == "bf16", timeout=15000)
    wait_ready(qtbot, window)
    assert window.actions["precision_bf16"].isChecked() and not window.actions["precision_auto"].isChecked()
    assert " · bf16" in window.status.model.text() and "Precision: bfloat16" in window.status.model.toolTip()
    assert '"bf16"' in paths.precision_setting.read_text()
    again = make_window(ready=False)  # the next start (no project: the first window holds it)
    assert again.actions["precision_bf16"].isChecked()
    qtbot.waitUntil(lambda: again.model.engine is not None and again.model.engine.precision == "bf16", timeout=15000)


@pytest.mark.slow
def test_the_command_line_wins_for_its_run_and_a_damaged_setting_is_named(qtbot, make_window, folder, paths):
    from app.annotate.model_choice import ModelChoice, load_model
    from app.ui.main_window import MainWindow

    paths.precision_setting.parent.mkdir(parents=True, exist_ok=True)
    paths.precision_setting.write_text('{"precision": "fp4"}')
    window = make_window(folder)
    assert str(paths.precision_setting) in window.notices.bar.text.text()
    assert window.actions["precision_auto"].isChecked()
    paths.precision_setting.write_text('{"precision": "bf16"}')
    given = MainWindow(paths, lambda: load_model(ModelChoice(device="cpu")), precision="fp32")
    try:
        assert given.actions["precision_fp32"].isChecked() and given.precision == "fp32"
    finally:
        given.shutdown()
        given.deleteLater()
