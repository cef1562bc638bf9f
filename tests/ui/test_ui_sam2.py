"""SAM 2.1 in the real window: a project opened on a random-weight sam2_tiny answers a click with the engine's mask;
Model > Registered model lists both families, and one whose file is not here says how to get it."""
import pytest
from functools import partial

import numpy as np
import torch

from app.annotate.model_choice import ModelChoice, load_model
from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS, CheckpointInfo
from app.sam2 import Sam2Engine
from window_helpers import DISC, click, wait_mask


@pytest.mark.slow
def test_a_click_on_a_sam2_model_gives_its_mask(qtbot, make_window, folder, tmp_path, tiny_sam2):
    path = tmp_path / "sam2_tiny.pt"
    torch.save(tiny_sam2.state_dict(), path)
    window = make_window(folder, loader=partial(load_model, ModelChoice(checkpoint=str(path), device="cpu")))
    assert not [n for n in window.notices.history if n[0] == "error"]
    assert window.model.model.loaded.arch == "sam2_tiny" and isinstance(window.model.engine, Sam2Engine)
    assert window.status.model.text().startswith(f"SAM {path}")
    x, y, _ = DISC
    click(qtbot, window, x, y)
    wait_mask(qtbot, window)
    expected = window.model.engine.predict(np.array([[x, y]], dtype=np.float32), np.array([1]), multimask=True)
    assert window.session.candidates[0].low_res_logits.shape[-1] == 32   # sam2_tiny's 128-px input / 4
    assert window.session.draft_mask.size == (120, 160)
    assert np.array_equal(window.session.draft_mask.dense(), expected.masks[expected.best])


@pytest.mark.slow
def test_the_registered_model_menu_lists_both_families(qtbot, make_window, tmp_path, monkeypatch, tiny_sam2):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    window = make_window(ready=False)
    qtbot.waitUntil(lambda: window.model.model is not None, timeout=20000)
    menu = next(a.menu() for a in window.menus["&Model"].actions() if a.menu() is not None)
    menu.aboutToShow.emit()
    sections = [a.text() for a in menu.actions() if a.isSeparator()]
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert sections == ["SAM 1", "SAM 2.1"]
    assert {"model_vit_b", "model_demo", "model_sam2.1_hiera_t", "model_sam2.1_hiera_l"} <= set(names)
    tiny = next(a for a in menu.actions() if a.objectName() == "model_sam2.1_hiera_t")
    assert tiny.text() == "sam2.1_hiera_t (not here)"
    loaded = window.model.model
    tiny.trigger()
    level, text = window.notices.history[-1]
    assert level == "error" and "mopeft download sam2.1_hiera_t" in text
    assert window.model.model is loaded   # nothing was loaded instead
    torch.save(tiny_sam2.state_dict(), tmp_path / "sam2_tiny.pt")   # now registered and here
    monkeypatch.setitem(CHECKPOINTS, "sam2_tiny", CheckpointInfo("sam2_tiny", "sam2_tiny", "sam2_tiny.pt",
                                                                 family="sam2"))
    menu.aboutToShow.emit()
    next(a for a in menu.actions() if a.objectName() == "model_sam2_tiny").trigger()
    qtbot.waitUntil(lambda: isinstance(window.model.engine, Sam2Engine), timeout=20000)
    assert window.model.model.name == "sam2_tiny"
