"""Switching the adapter version in the window re-embeds the current image and re-predicts the draft at once,
with no need to leave the image; the prefetched images are embedded with the new version too."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from app.mopeft import MoPEFTConfig, adapted_copy, peft_state_dict, save_adapter, wrap
from app.sam.engine import SamEngine
from app.sam.images import load_image
from window_helpers import click, tiny_model, version_rows, wait_mask


def _add_version(project, name: str, seed: int):
    """A recorded adapter version for the tiny SAM with random (clearly non-identity) PEFT weights."""
    sam = tiny_model().loaded.sam
    wrap(sam, MoPEFTConfig(blocks="all"))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in peft_state_dict(sam).values():
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.5)
    path = save_adapter(sam, project.adapters_dir / name)
    return project.adapters.add(path, "tiny-fixture", {}, {})


def _use(qtbot, window, row: int, path: Path | None) -> None:
    """Pick a row of the versions list and press "Use this version", as the annotator does."""
    versions = window.training_dock.versions
    versions.tree.setCurrentItem(version_rows(window)[row])
    qtbot.mouseClick(versions.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.adapter == (None if path is None else str(path)), timeout=10000)


def _fresh_mask(image_path: Path, adapter: Path | None, x: int, y: int) -> np.ndarray:
    """The mask a fresh engine with this adapter gives for one positive click (the window's draft must match)."""
    base = tiny_model().loaded.sam
    engine = SamEngine(base if adapter is None else adapted_copy(base, adapter))
    engine.set_image(load_image(image_path))
    prediction = engine.predict(np.array([[x, y]], np.float32), np.array([1]), multimask=True)
    return prediction.masks[prediction.best]


@pytest.mark.slow
def test_a_version_switch_re_embeds_the_current_image_and_re_predicts_the_draft(qtbot, make_window, annotated):
    window = make_window(annotated, loader=tiny_model)
    project = window.session.project
    v1, v2 = _add_version(project, "v1.safetensors", 1), _add_version(project, "v2.safetensors", 2)
    window.training_dock.versions.show_versions(project.adapters.list())
    image = window.session.image
    image_path = project.path_of(image.path)
    x, y = image.width // 2, image.height // 2
    click(qtbot, window, x, y)
    wait_mask(qtbot, window)
    prompts = window.session.draft.prompts
    masks = {None: window.session.draft_mask.dense()}
    assert np.array_equal(masks[None], _fresh_mask(image_path, None, x, y))

    for row, version in ((1, v1), (2, v2), (0, None), (2, v2)):   # new versions, a rollback, and forward again
        path = None if version is None else project.path_of(version.path)
        _use(qtbot, window, row, path)
        assert window.model.embedding_stale == ("(embedding…)" in window.status.model.text())
        qtbot.waitUntil(lambda: window.session.candidates is not None and not window.session.pending
                        and window.status.embedding.text().startswith("Embedding ready"), timeout=15000)
        assert window.session.image.id == image.id and window.session.draft.prompts == prompts  # never left
        expected = _fresh_mask(image_path, path, x, y)
        assert np.array_equal(window.session.draft_mask.dense(), expected), f"draft is stale after switching to {path}"
        masks[path] = expected
        label = "adapter" if version is None else f"adapter v{row}"
        assert (label in window.status.model.text()) == (version is not None)
    assert not np.array_equal(masks[None], masks[project.path_of(v2.path)])  # the versions do differ here

    # the images ahead were prefetched with the version now in use
    engine = window.model.engine
    ahead = [project.path_of(i.path) for i in window.session.images() if i.id != image.id][:2]
    qtbot.waitUntil(lambda: all(engine.cache_key(load_image(p)) in engine.cache for p in ahead), timeout=20000)
