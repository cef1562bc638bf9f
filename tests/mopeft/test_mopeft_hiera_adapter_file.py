"""Adapter files of SAM 2.1 models: they record the family and variant, and refuse another one."""
import dataclasses

import pytest
import torch

from app.mopeft import AdapterError, MoPEFTConfig, adapted_copy, load_adapter, read_adapter_base, save_adapter, wrap
from app.sam.variants import build_sam
from app.sam2 import SAM2_ARCHS, build_sam2
from app.sam2.encoder import image_features
from peft_copies import trained_copy


def _trained(model):
    return trained_copy(model, MoPEFTConfig(blocks="last:3"))


@pytest.mark.slow
def test_round_trip_records_family_and_variant(tmp_path):
    base = build_sam2("sam2_tiny")
    trained = _trained(base)
    path = save_adapter(trained, tmp_path / "a.safetensors", {"note": "x"})
    assert read_adapter_base(path) == ("sam2", "sam2_tiny")
    copy_ = adapted_copy(base, path)
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        for a, b in zip(image_features(trained.eval(), x), image_features(copy_, x)):
            assert torch.equal(a, b)


@pytest.mark.slow
def test_another_family_or_variant_is_refused_and_left_plain(tmp_path, monkeypatch):
    path = save_adapter(_trained(build_sam2("sam2_tiny")), tmp_path / "a.safetensors")
    sam1 = build_sam("tiny")
    with pytest.raises(AdapterError, match="made for SAM 2.1 sam2_tiny, but the model is SAM 1 tiny"):
        load_adapter(sam1, path)
    assert not hasattr(sam1, "_mopeft")
    wider = dataclasses.replace(SAM2_ARCHS["sam2_tiny"], name="sam2_tiny_deeper", blocks=(1, 1, 3, 1),
                                global_blocks=(3,))
    monkeypatch.setitem(SAM2_ARCHS, wider.name, wider)
    other = build_sam2(wider.name)
    with pytest.raises(AdapterError, match="made for SAM 2.1 sam2_tiny, but the model is SAM 2.1 sam2_tiny_deeper"):
        load_adapter(other, path)
    sam1_file = save_adapter(wrap(build_sam("tiny"), MoPEFTConfig(blocks="last:1")), tmp_path / "s1.safetensors")
    assert read_adapter_base(sam1_file) == ("sam", "tiny")
    with pytest.raises(AdapterError, match="made for SAM 1 tiny, but the model is SAM 2.1 sam2_tiny"):
        load_adapter(build_sam2("sam2_tiny"), sam1_file)
