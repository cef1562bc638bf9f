"""A PEFT kind added in one file (tests/ssf_kind.py) plus its registration, and no other change, is trained by
`mopeft train --kinds`, offered by the training form, drawn in the gate heatmap and saved in adapter files."""
import copy
import shutil

import pytest
import torch
from PySide6.QtCore import Qt

from app.annotate.model_choice import ModelLoad
from app.cli.main import main
from app.mopeft import (KIND_REGISTRY, MoPEFTConfig, gate_values, load_adapter, read_adapter_header, register_kind,
                        save_adapter, trainable_parameters, wrap, wrap_info)
from app.sam.checkpoints import load_sam
from app.sam.variants import build_sam
from app.store.project import Project
from ssf_kind import SSF, SSFConfig
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



@pytest.fixture
def ssf():
    """SSF registered for one test (every other test sees the built-in kinds only)."""
    register_kind(SSF)
    yield SSF
    del KIND_REGISTRY[SSF.name]


@pytest.mark.slow
def test_the_new_kind_starts_as_identity_and_round_trips_through_an_adapter_file(ssf, tmp_path):
    plain = build_sam("tiny").eval()
    sam = wrap(copy.deepcopy(plain), MoPEFTConfig({"lora": None, "ssf": SSFConfig(shift_scale=2.0)}, blocks="last:2"))
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(sam.image_encoder(x), plain.image_encoder(x))
        for p in sam.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
        trained = sam.image_encoder(x)
    assert set(gate_values(sam)["blocks.3"]) == {"lora", "ssf"}
    assert trainable_parameters(sam).per_kind["ssf"] == 2 * (64 + 64 + 65)  # gamma, beta, the gate; two blocks
    path = save_adapter(sam, tmp_path / "ssf.safetensors")
    config, _, _ = read_adapter_header(path)
    assert config.kinds["ssf"] == SSFConfig(shift_scale=2.0)
    fresh = copy.deepcopy(plain)
    load_adapter(fresh, path)
    assert wrap_info(fresh).config == wrap_info(sam).config
    with torch.no_grad():
        assert torch.equal(fresh.image_encoder(x), trained)


@pytest.mark.slow
def test_mopeft_train_trains_the_new_kind(ssf, tmp_path, capsys):
    project_dir = write_toy_project(tmp_path / "annotated")
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    assert main(["train", "--project", str(project_dir), "--model", str(model), "--steps", "2", "--blocks",
                 "last:2", "--kinds", "lora,ssf", "--activate", "always"]) == 0
    with Project.open(project_dir, readonly=True) as project:
        (version,) = project.adapters.list()
        assert version.config["kinds"] == ["lora", "ssf"] and version.config["ssf_shift_scale"] == 1.0
        config, _, _ = read_adapter_header(project.path_of(version.path))
    assert list(config.kinds) == ["lora", "ssf"]


@pytest.mark.slow
def test_the_form_offers_the_new_kind_and_the_heatmap_draws_it(ssf, qtbot, make_window, tmp_path):
    window = make_window(write_toy_project(tmp_path / "annotated"),
                         loader=lambda: ModelLoad(load_sam(FIXTURE, device="cpu"), "tiny-fixture", "CPU"))
    dock = window.training_dock
    form = dock.form
    form.preset.setCurrentIndex(form.preset.findData("ssf"))
    assert form.preset.currentText() == "Scale and shift only"
    shift = form.kind_fields["ssf_shift_scale"].widget
    assert shift.isEnabled() and not form.kind_fields["lora_rank"].widget.isEnabled()
    shift.setValue(0.5)
    form.steps.setValue(10)
    with qtbot.waitSignal(window.training.ended, timeout=60000) as ended:
        qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] == "Done."
    qtbot.waitUntil(lambda: not dock.heatmap.pending)
    assert dock.heatmap.kinds == ["ssf"] and dock.heatmap.blocks == [f"blocks.{i}" for i in range(4)]
    version = window.session.project.adapters.list()[-1]
    assert version.config["kinds"] == ["ssf"] and version.config["ssf_shift_scale"] == 0.5
    config, _, _ = read_adapter_header(window.session.project.path_of(version.path))
    assert config.kinds == {"ssf": SSFConfig(shift_scale=0.5)}
