"""An adapter version that cannot be loaded, for whatever reason, is reported in the window and SAM runs without it:
the model worker always answers (adapter_failed), never stays silent."""
import json

import pytest
from safetensors import safe_open
from safetensors.torch import save_file

from app.mopeft import MoPEFTConfig, save_adapter, wrap
from app.sam.checkpoints import load_sam
from window_helpers import tiny_model, wait_ready
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



def _active_version(project, name, **claims):
    """Save an adapter for the fixture model into the project, its header claiming `claims`, and make it active."""
    path = project.adapters_dir / name
    save_adapter(wrap(load_sam(FIXTURE, device="cpu").sam, MoPEFTConfig()), path)
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = json.dumps({**json.loads(meta["config"]), **claims})
    save_file(tensors, path, metadata=meta)
    version = project.adapters.add(path, "tiny-fixture", json.loads(meta["config"]), {})
    project.adapters.set_active(version.id)
    return path


def _reopen_and_expect_refusal(qtbot, make_window, folder, path):
    window = make_window(folder, loader=tiny_model, ready=False)  # the next start of the app
    qtbot.waitUntil(lambda: any(path.name in text for _, text in window.notices.history), timeout=20000)
    assert "Adapter not used" in window.notices.bar.text.text()
    wait_ready(qtbot, window)
    assert window.model.adapter is None and window.model.engine.sam is window.model.model.loaded.sam
    return window


@pytest.fixture
def annotated(tmp_path):
    return write_toy_project(tmp_path / "annotated")


@pytest.mark.slow
def test_an_adapter_claiming_a_huge_rank_is_refused_and_sam_runs_without_it(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    path = _active_version(window.session.project, "huge.safetensors", lora_rank=10**9)
    window.shutdown()
    again = _reopen_and_expect_refusal(qtbot, make_window, annotated, path)
    level, text = next(n for n in again.notices.history if path.name in n[1])
    assert level == "error" and "lora_rank 1000000000" in text


@pytest.mark.slow
def test_any_failure_while_applying_an_adapter_reaches_the_window(qtbot, make_window, annotated, monkeypatch):
    window = make_window(annotated, loader=tiny_model)
    path = _active_version(window.session.project, "fine.safetensors")
    window.shutdown()

    def out_of_memory(base, adapter):
        raise RuntimeError(f"{adapter}: CUDA out of memory")  # not an AdapterError: the worker must answer anyway

    monkeypatch.setattr("app.services.model_session.adapted_copy", out_of_memory)
    _reopen_and_expect_refusal(qtbot, make_window, annotated, path)
