"""Loading SAM checkpoints: variant detection from shapes, and refusal of files that are not what they claim."""
import dataclasses
import shutil

import pytest
import torch

from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS, CheckpointError, detect_arch, load_sam
from app.sam.variants import ARCHS, build_sam


@pytest.fixture(scope="module")
def tiny_sam():
    return build_sam("tiny")


@pytest.fixture
def tiny_file(tmp_path, tiny_sam):
    path = tmp_path / "tiny.pth"
    torch.save(tiny_sam.state_dict(), path)
    return path


@pytest.mark.slow
def test_tiny_checkpoint_loads_with_the_same_weights_and_outputs(tiny_file, tiny_sam):
    loaded = load_sam(tiny_file, device="cpu")
    assert loaded.arch == "tiny" and loaded.path == tiny_file
    got, want = loaded.sam.state_dict(), tiny_sam.state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)
    tensors = list(loaded.sam.parameters()) + list(loaded.sam.buffers())
    assert not any(t.is_meta for t in tensors)
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(loaded.sam.image_encoder(x), tiny_sam.image_encoder(x))


@pytest.mark.parametrize("wrapper", ["model", "state_dict"])
@pytest.mark.slow
def test_state_dict_wrapped_in_a_dict_loads(tmp_path, tiny_sam, wrapper):
    path = tmp_path / "wrapped.pth"
    torch.save({wrapper: tiny_sam.state_dict(), "epoch": torch.tensor(3)}, path)
    assert load_sam(path, device="cpu").arch == "tiny"


@pytest.mark.parametrize("name", list(ARCHS))
def test_detect_arch_from_shapes_of_every_variant(name):
    with torch.device("meta"):  # shapes only: vit_h costs no memory here
        state = build_sam(name).state_dict()
    assert detect_arch(state) == name


@pytest.mark.slow
def test_demo_checkpoint_loads_by_name_once_its_file_exists(tmp_path, monkeypatch):
    bundled, shipped = tmp_path / "demo_sam.pth", CHECKPOINTS["demo"].bundled
    monkeypatch.setitem(CHECKPOINTS, "demo", dataclasses.replace(CHECKPOINTS["demo"], bundled=bundled))
    with pytest.raises(CheckpointError, match="demo model file is missing") as exc:
        load_sam("demo")
    assert str(bundled) in str(exc.value)
    torch.save(build_sam("demo").state_dict(), bundled)
    with pytest.raises(CheckpointError, match="reinstall the app") as exc:
        load_sam("demo")
    assert str(bundled) in str(exc.value)
    shutil.copyfile(shipped, bundled)  # the real file, which the registry's size and sha256 describe
    loaded = load_sam("demo", device="cpu")
    assert loaded.arch == "demo" and loaded.path == bundled


def test_registered_name_without_its_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    with pytest.raises(CheckpointError, match="mopeft download vit_b") as exc:
        load_sam("vit_b")
    assert str(tmp_path / "sam_vit_b_01ec64.pth") in str(exc.value)


def test_registered_file_of_the_wrong_size_is_refused(tmp_path, monkeypatch, tiny_file):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(tiny_file.read_bytes())
    with pytest.raises(CheckpointError, match="375042383"):
        load_sam("vit_b")


def test_explicit_variant_that_does_not_match_the_file_is_refused(tiny_file):
    with pytest.raises(CheckpointError, match="holds a tiny checkpoint, but vit_l was asked for") as exc:
        load_sam(tiny_file, arch="vit_l")
    assert str(tiny_file) in str(exc.value)


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    path = tmp_path / "noise.pth"
    path.write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint") as exc:
        load_sam(path)
    assert str(path) in str(exc.value)


def test_truncated_checkpoint_is_refused(tmp_path, tiny_file):
    data = tiny_file.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt") as exc:
        load_sam(cut)
    assert str(cut) in str(exc.value)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.pth"
    path.touch()
    with pytest.raises(CheckpointError, match="empty"):
        load_sam(path)


def test_state_dict_of_another_model_is_not_sam(tmp_path):
    path = tmp_path / "linear.pth"
    torch.save(torch.nn.Linear(4, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="not a SAM checkpoint: it has no image_encoder.pos_embed"):
        load_sam(path)


def test_sam_of_an_unknown_size_is_refused():
    odd = dataclasses.replace(ARCHS["tiny"], name="odd", embed_dim=48)
    with torch.device("meta"):
        state = build_sam(odd).state_dict()
    with pytest.raises(CheckpointError, match="unknown size.*embed_dim 48"):
        detect_arch(state, "odd.pth")


def test_sam_checkpoint_missing_tensors_is_refused(tmp_path, tiny_sam):
    state = {k: v for k, v in tiny_sam.state_dict().items() if not k.startswith("mask_decoder.")}
    path = tmp_path / "encoder_only.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="lacks mask_decoder"):
        load_sam(path)
