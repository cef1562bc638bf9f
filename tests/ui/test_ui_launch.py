"""Starting the app: `main()` opens the demo project; a bad checkpoint is named and the demo model takes over."""
from functools import partial

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog

from app.annotate.model_choice import ModelChoice, load_model
from app.ui import launch
from app.ui.app_paths import AppPaths
from app.ui.main_window import MainWindow
from window_helpers import click, wait_mask
from fixture_paths import TINY_SAM as FIXTURE


@pytest.mark.slow
def test_bad_checkpoint_is_named_and_the_demo_model_runs(qtbot, make_window, folder, tmp_path):
    bad = tmp_path / "my_sam.pth"
    bad.write_bytes(b"\x00" * 100)
    window = make_window(folder, loader=partial(load_model, ModelChoice(checkpoint=str(bad), device="cpu")))
    qtbot.waitUntil(lambda: window.model.model is not None)
    level, text = next(n for n in window.notices.history if n[0] == "error")
    assert str(bad) in text and "demo model instead" in text
    assert window.status.model.text().startswith("SAM demo")
    click(qtbot, window, 60, 64)
    wait_mask(qtbot, window)


@pytest.mark.slow
def test_main_without_arguments_opens_the_demo_project(qtbot, tmp_path, monkeypatch):
    user = AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "cache")
    monkeypatch.setattr(AppPaths, "default", classmethod(lambda cls: user))
    seen = {}

    def run_event_loop(_app):
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        qtbot.waitUntil(lambda: window.canvas.has_image, timeout=30000)
        seen["title"], seen["images"] = window.windowTitle(), len(window.session.images())
        window.shutdown()
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", run_event_loop)
    assert launch.main([]) == 0
    assert seen["title"] == f"MoPEFT Annotator — {(user.data_dir / 'demo-project').resolve()}" and seen["images"] > 0
    assert (user.data_dir / "demo-project" / ".mopeft" / "project.db").is_file()


def test_command_line():
    args = launch.parse_args(["--project", "imgs", "--checkpoint", "sam.pth", "--device", "cpu"])
    assert (args.project, args.checkpoint, args.model, args.device) == ("imgs", "sam.pth", None, "cpu")
    with pytest.raises(SystemExit):
        launch.parse_args(["--checkpoint", "a.pth", "--model", "vit_b"])


@pytest.mark.slow
def test_model_menu_swaps_the_checkpoint_and_prompting_goes_on(qtbot, make_window, folder, monkeypatch):
    window = make_window(folder)
    tiny = FIXTURE
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(tiny), "")))
    window.menus["&Model"].actions()[0].trigger()
    qtbot.waitUntil(lambda: window.model.model is not None and window.model.model.loaded.arch == "tiny",
                    timeout=20000)
    qtbot.waitUntil(lambda: window.status.embedding.text().startswith("Embedding ready"), timeout=20000)
    assert window.status.model.text().startswith(f"SAM {tiny}")
    click(qtbot, window, 60, 64)
    wait_mask(qtbot, window)
    assert window.session.candidates[0].low_res_logits.shape[-1] == 32  # the tiny model's 128-px input / 4
