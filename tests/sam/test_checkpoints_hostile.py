"""Checkpoints that are hostile or damaged inside: code in the pickle, NaN weights, tensors of the wrong shape or
kind, an unreadable file. Each is a CheckpointError naming the file, and nothing in the file ever runs."""
import os
import pickle

import pytest
import torch

from app.sam.checkpoints import CheckpointError, load_sam
from app.sam.variants import build_sam


@pytest.fixture(scope="module")
def tiny_state():
    return build_sam("tiny").state_dict()


def _save(tmp_path, name, state):
    path = tmp_path / name
    torch.save(state, path)
    return path


class _WritesMarker:
    """Unpickling this calls os.system to create a marker file: a checkpoint that would run code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_checkpoint_whose_unpickling_would_run_code_is_refused_and_nothing_runs(tmp_path, tiny_state, writer):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    payload = {**tiny_state, "image_encoder.neck.0.weight": _WritesMarker(marker)}
    if writer == "pickle":
        path.write_bytes(pickle.dumps({"x": _WritesMarker(marker)}, protocol=2))
    else:
        torch.save(payload, path)
    with pytest.raises(CheckpointError) as exc:
        load_sam(path, device="cpu")
    message = str(exc.value)
    assert str(path) in message and f"Python objects ({os.system.__module__}.system)" in message
    assert "weights_only" not in message and "trusted source" not in message  # no advice to turn the check off
    assert not marker.exists()
    if writer == "pickle":  # the payload is real: a plain unpickler does run it
        pickle.loads(path.read_bytes())
        assert marker.exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path, tiny_state, value):
    state = {k: v.clone() for k, v in tiny_state.items()}
    state["mask_decoder.iou_token.weight"][0, 0] = value
    path = _save(tmp_path, "nan.pth", state)
    with pytest.raises(CheckpointError, match="nan.pth: 1 tensor.* NaN or infinite values .*iou_token"):
        load_sam(path, device="cpu")


def test_a_tensor_of_another_shape_is_named_with_both_shapes(tmp_path, tiny_state):
    state = dict(tiny_state)
    state["mask_decoder.iou_token.weight"] = torch.zeros(1, 99)
    path = _save(tmp_path, "shape.pth", state)
    with pytest.raises(CheckpointError, match=r"shape.pth: .*mask_decoder.iou_token.weight has shape \[1, 99\], "
                                              r"SAM tiny needs \[1, 32\]"):
        load_sam(path, device="cpu")


def test_integer_weights_are_refused(tmp_path, tiny_state):
    state = dict(tiny_state)
    state["mask_decoder.iou_token.weight"] = torch.zeros(1, 32, dtype=torch.int64)
    path = _save(tmp_path, "ints.pth", state)
    with pytest.raises(CheckpointError, match="ints.pth: .*iou_token.weight holds torch.int64 values"):
        load_sam(path, device="cpu")


def test_a_file_that_cannot_be_read_is_not_called_corrupt(tmp_path, tiny_state, monkeypatch):
    path = _save(tmp_path, "locked.pth", tiny_state)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(torch, "load", denied)
    with pytest.raises(CheckpointError, match="locked.pth: cannot read the checkpoint file \\(Permission denied\\)"):
        load_sam(path, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_a_device_that_cannot_take_the_model_is_a_checkpoint_error(tmp_path, tiny_state):
    path = _save(tmp_path, "tiny.pth", tiny_state)
    with pytest.raises(CheckpointError, match="tiny.pth: SAM tiny could not be moved to cuda"):
        load_sam(path, device="cuda")
