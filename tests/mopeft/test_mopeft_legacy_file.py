"""An adapter file written before the PEFT kinds owned their configs (tests/fixtures/make_legacy_adapter.py made
it with main at 65c9977) still loads, computes what it computed then, and its stored settings still read."""
import pytest
import json

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from app.mopeft import load_adapter, wrap_info
from app.sam.checkpoints import load_sam
from app.training.finetune.settings import TrainSettings
from toy_shapes import mask_logits, scenes
from fixture_paths import FIXTURES

LEGACY = FIXTURES / "legacy_adapter.safetensors"


@pytest.mark.slow
def test_a_legacy_adapter_file_loads_and_computes_what_it_did():
    sam = load_sam(FIXTURES / "tiny_sam_shapes.pth", device="cpu").sam
    metadata = load_adapter(sam, LEGACY)
    config = wrap_info(sam).config
    assert list(config.kinds) == ["lora", "prefix", "adapter", "decoder_lora"]
    assert (config.kinds["lora"].rank, config.kinds["prefix"].length, config.kinds["adapter"].dim,
            config.kinds["decoder_lora"].rank, config.blocks, config.gate_bias) == (2, 3, 5, 2, "last:2", 0.5)
    expected = load_file(FIXTURES / "legacy_adapter_outputs.safetensors")
    image, _, click = scenes(1, seed=5)[0]
    with torch.no_grad():  # to rounding: the sums' order follows the thread count (1e-5 with one thread)
        torch.testing.assert_close(sam.eval().image_encoder(sam.preprocess(image[None])), expected["embedding"],
                                   rtol=0, atol=1e-5)
        torch.testing.assert_close(mask_logits(sam, image, click), expected["mask_logits"], rtol=0, atol=1e-4)
    assert metadata["base_model"] == "tiny"


def test_settings_stored_by_earlier_versions_still_read():
    """What adapter versions hold in the store is TrainSettings.to_dict() of their run, flat, as the file's."""
    with safe_open(str(LEGACY), framework="pt") as f:
        stored = json.loads(f.metadata()["metadata"])["settings"]
    settings = TrainSettings.from_dict(stored)
    assert settings.mopeft.kinds["adapter"].dropout == 0.3 and settings.mopeft.kinds["lora"].rank == 2
    assert (settings.steps, settings.kind_lr, settings.mopeft.gate_bias) == (7, {"prefix": 4.0}, 0.5)
    assert settings.to_dict() == stored  # the same keys and values as then: the versions list reads both
