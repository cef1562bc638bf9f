"""MoPEFTConfig: validation, block selection, JSON round trip, and the parameter budget on real SAM sizes."""
import pytest
import torch

from app.mopeft import MoPEFTConfig, trainable_parameters, wrap
from app.mopeft.kinds.bottleneck import BottleneckConfig
from app.mopeft.kinds.decoder_lora import DecoderLoRAConfig
from app.mopeft.kinds.lora import LoRAConfig
from app.sam.variants import build_sam


def test_json_round_trip():
    config = MoPEFTConfig({"prefix": None, "lora": LoRAConfig(rank=4), "decoder_lora": DecoderLoRAConfig(rank=3)},
                          blocks=[3, 1], gate_bias=-1.0)
    again = MoPEFTConfig.from_json(config.to_json())
    assert again == config and again.blocks == [1, 3] and list(again.kinds) == ["prefix", "lora", "decoder_lora"]
    assert again.kinds["lora"].rank == 4 and again.kinds["decoder_lora"].rank == 3


def test_each_kind_holds_its_own_config():
    config = MoPEFTConfig.from_dict({"kinds": ["lora", "adapter"], "lora_rank": 4, "adapter_dim": 7,
                                     "prefix_length": 3})  # a size of a kind not chosen is ignored
    assert config.kinds == {"lora": LoRAConfig(rank=4), "adapter": BottleneckConfig(dim=7)}
    assert config.to_dict(training=False) == {"kinds": ["lora", "adapter"], "blocks": "all", "gate_bias": 0.0,
                                              "lora_rank": 4, "adapter_dim": 7}


def test_training_options_do_not_make_configs_differ_nor_go_into_files():
    low, high = (MoPEFTConfig({"adapter": BottleneckConfig(dropout=p)}) for p in (0.0, 0.4))
    assert low == high and low.to_json() == high.to_json() and "dropout" not in low.to_json()
    assert high.to_dict()["adapter_dropout"] == 0.4
    assert MoPEFTConfig(["lora", "prefix"]) != MoPEFTConfig(["prefix", "lora"])  # order is the hooks' order


@pytest.mark.parametrize("data,message", [
    ({"kinds": ["lora", "bitfit"]}, "unknown PEFT kind"),
    ({"kinds": []}, "at least one"),
    ({"kinds": ["lora", "lora"]}, "twice"),
    ({"blocks": "first:3"}, "blocks must be"),
    ({"lora_rank": 0}, "lora_rank"),
    ({"kinds": ["decoder_lora"], "decoder_lora_rank": 0}, "decoder_lora_rank"),
    ({"adapter_dropout": 1.0}, "adapter_dropout"),
])
def test_invalid_configs_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        MoPEFTConfig.from_dict(data)


def test_a_kind_needs_its_own_config_class():
    with pytest.raises(ValueError, match="must be a LoRAConfig"):
        MoPEFTConfig({"lora": BottleneckConfig()})


def test_block_selection():
    assert MoPEFTConfig(blocks="all").block_indices(4) == [0, 1, 2, 3]
    assert MoPEFTConfig(blocks="last:3").block_indices(12) == [9, 10, 11]
    with pytest.raises(ValueError, match="out of range"):
        MoPEFTConfig(blocks=[12]).block_indices(12)
    with pytest.raises(ValueError, match="has 4 blocks"):
        MoPEFTConfig(blocks="last:5").block_indices(4)


def test_unknown_json_keys_are_refused():
    with pytest.raises(ValueError, match="unknown MoPEFT config keys"):
        MoPEFTConfig.from_json('{"kinds": ["lora"], "alpha": 3}')


@pytest.mark.slow
def test_default_config_on_vit_b_trains_under_two_percent():
    counts = trainable_parameters(wrap(build_sam("vit_b"), MoPEFTConfig()))
    assert counts.share <= 0.02
    # LoRA r=8 on q and v: 2 * 2 * 768 * 8 plus two gates, per block
    assert counts.per_kind["lora"] == 12 * (2 * 2 * 768 * 8 + 2 * 769)
    assert counts.per_kind["adapter"] == 12 * (768 * 48 + 48 + 48 * 768 + 768 + 769)
    # Prefix L=10: keys and values 2 * 10 * 768, the zero-initialised per-channel scale 768, one gate
    assert counts.per_kind["prefix"] == 12 * (2 * 10 * 768 + 768 + 769)


@pytest.mark.parametrize("arch", ["vit_l", "vit_h"])
@pytest.mark.slow
def test_large_sams_wrap_and_run_on_the_meta_device(arch):
    """vit_l and vit_h wrap and trace their shapes without allocating gigabytes."""
    with torch.device("meta"):
        sam = wrap(build_sam(arch), MoPEFTConfig(blocks="last:4"))
        out = sam.image_encoder(torch.empty(1, 3, 1024, 1024))
    assert out.shape == (1, 256, 64, 64)
    assert trainable_parameters(sam).share <= 0.02


def test_configs_from_before_gate_bias_still_load():
    old = '{"adapter_dim": null, "blocks": "last:4", "decoder_lora": false, "kinds": ["lora"], "lora_rank": 8, ' \
          '"prefix_length": 10}'
    assert MoPEFTConfig.from_json(old).gate_bias == 0.0


def test_configs_from_before_the_decoder_lora_was_a_kind_still_load():
    """The decoder LoRA was a flag, with the encoder LoRA's rank; it is now the kind decoder_lora."""
    old = '{"adapter_dim": null, "blocks": "all", "decoder_lora": true, "gate_bias": 0.0, "kinds": ["prefix"], ' \
          '"lora_rank": 4, "prefix_length": 10}'
    config = MoPEFTConfig.from_json(old)
    assert list(config.kinds) == ["prefix", "decoder_lora"] and config.kinds["decoder_lora"].rank == 4
