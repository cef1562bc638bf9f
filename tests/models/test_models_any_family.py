"""load_any_sam: SAM 1 and SAM 2.1 from one call, the family from the registry or the file's keys (read once)."""
import pytest
import torch
from segment_anything.modeling import Sam

from app.models import any_family
from app.models.any_family import load_any_sam, state_family
from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS, CheckpointError, CheckpointInfo
from fixture_paths import TINY_SAM
from sam2_layout import to_official


@pytest.fixture
def sam2_file(tmp_path):
    from app.sam2 import build_sam2

    path = tmp_path / "hf.pt"
    torch.save(build_sam2("sam2_tiny").state_dict(), path)
    return path


@pytest.mark.slow
def test_sam1_file_loads_as_sam(monkeypatch):
    reads = []
    read = any_family.read_state_dict
    monkeypatch.setattr(any_family, "read_state_dict", lambda path: reads.append(path) or read(path))
    loaded = load_any_sam(TINY_SAM, device="cpu")
    assert isinstance(loaded.sam, Sam) and loaded.arch == "tiny" and loaded.path == TINY_SAM
    assert reads == [TINY_SAM]


@pytest.mark.slow
def test_sam2_files_of_either_layout_load_as_sam2model(sam2_file, tmp_path, monkeypatch):
    from transformers import Sam2Model

    reads = []
    read = any_family.read_state_dict
    monkeypatch.setattr(any_family, "read_state_dict", lambda path: reads.append(path) or read(path))
    loaded = load_any_sam(sam2_file, device="cpu")
    assert isinstance(loaded.sam, Sam2Model) and loaded.arch == "sam2_tiny" and reads == [sam2_file]
    meta = tmp_path / "meta.pt"
    torch.save({"model": to_official(torch.load(sam2_file))}, meta)
    assert load_any_sam(meta, device="cpu").arch == "sam2_tiny"


@pytest.mark.slow
def test_registered_names_take_their_family_from_the_registry(sam2_file, tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    monkeypatch.setitem(CHECKPOINTS, "sam2_tiny", CheckpointInfo("sam2_tiny", "sam2_tiny", sam2_file.name,
                                                                 family="sam2"))
    assert load_any_sam("sam2_tiny", device="cpu").arch == "sam2_tiny"
    with pytest.raises(CheckpointError, match="mopeft download sam2.1_hiera_s"):
        load_any_sam("sam2.1_hiera_s", device="cpu")


@pytest.mark.slow
def test_refusals_name_the_file(sam2_file, tmp_path):
    with pytest.raises(CheckpointError, match=f"{sam2_file}: holds a sam2_tiny checkpoint, but vit_b was asked"):
        load_any_sam(sam2_file, device="cpu", arch="vit_b")
    with pytest.raises(ValueError, match="unknown SAM variant 'vit_q'.*sam2.1_hiera_t"):
        load_any_sam(sam2_file, device="cpu", arch="vit_q")
    other = tmp_path / "linear.pth"
    torch.save(torch.nn.Linear(4, 2).state_dict(), other)
    with pytest.raises(CheckpointError, match=f"{other}: neither a SAM 1 nor a SAM 2.1 checkpoint"):
        load_any_sam(other)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_any_sam(tmp_path / "missing.pt")


def test_state_family():
    assert state_family({"image_encoder.blocks.0.attn.qkv.weight": torch.zeros(1)}) == "sam"
    assert state_family({"image_encoder.trunk.blocks.0.attn.qkv.weight": torch.zeros(1)}) == "sam2"
    assert state_family({"vision_encoder.neck.convs.0.weight": torch.zeros(1)}) == "sam2"
    assert state_family({"weight": torch.zeros(1)}) is None
