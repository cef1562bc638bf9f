"""MoPEFT in SAM 2.1's Hiera: a fresh wrap computes exactly what the plain model does (image embedding and the
high-resolution features the decoder reads) for each kind and the mix; kinds are sized per stage; the cached path."""
import copy

import pytest
import torch

from app.mopeft import MoPEFTConfig, encode_from, encode_until, frozen_prefix_length, gate_values, wrap
from app.mopeft.hiera_block import MoPEFTHieraBlock
from app.sam2 import build_sam2
from app.sam2.encoder import image_features
from peft_copies import trained_copy

KIND_SETS = [["lora"], ["prefix"], ["adapter"], ["lora", "prefix", "adapter"]]


@pytest.fixture(scope="module")
def plain():
    torch.manual_seed(0)
    model = build_sam2("sam2_tiny")
    with torch.no_grad():  # random weights leave the LayerNorms at identity: move every tensor a little
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return model


def _features(model, x):
    with torch.no_grad():
        return image_features(model, x)


def test_image_features_are_transformers_own(plain):
    x = torch.randn(2, 3, 128, 128)
    for ours, theirs in zip(_features(plain, x), plain.get_image_embeddings(x)):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("kinds", KIND_SETS, ids=["+".join(k) for k in KIND_SETS])
@pytest.mark.slow
def test_wrapped_hiera_equals_plain(plain, kinds):
    wrapped = wrap(copy.deepcopy(plain), MoPEFTConfig(kinds))
    blocks = wrapped.vision_encoder.backbone.blocks
    assert all(isinstance(b, MoPEFTHieraBlock) for b in blocks)
    # every kind of Hiera block: query pooling with a wider output (1, 2, 4), windowed with padding (2, 4), global (3)
    assert [(b.window_size, bool(b.query_stride), b.dim != b.dim_out) for b in blocks] == [
        (8, False, False), (8, True, True), (4, True, True), (0, False, False), (6, True, True)]
    x = torch.randn(2, 3, 128, 128)
    diffs = [(a - b).abs().max().item() for a, b in zip(_features(plain, x), _features(wrapped, x))]
    assert max(diffs) <= 1e-5, diffs
    points, labels = torch.tensor([[[[40.0, 70.0]]]]), torch.tensor([[[1]]])
    with torch.no_grad():
        a = plain(pixel_values=x[:1], input_points=points, input_labels=labels)
        b = wrapped(pixel_values=x[:1], input_points=points, input_labels=labels)
    assert (a.pred_masks - b.pred_masks).abs().max().item() <= 1e-5
    assert (a.iou_scores - b.iou_scores).abs().max().item() <= 1e-5
    assert set(gate_values(wrapped)) == {f"blocks.{i}" for i in range(5)}


def test_kinds_are_sized_per_stage(plain):
    wrapped = wrap(copy.deepcopy(plain), MoPEFTConfig())
    for block in wrapped.vision_encoder.backbone.blocks:
        lora, prefix, bottleneck = block.peft["lora"], block.peft["prefix"], block.peft["adapter"]
        assert (lora.q.A.shape[1], lora.q.B.shape[0]) == (block.dim, block.dim_out)
        assert lora.gates[0].linear.in_features == block.dim  # the attention gates read the block's input
        assert prefix.keys.shape[1] == block.dim_out and prefix.gates[0].linear.in_features == block.dim
        assert bottleneck.down.weight.shape == (block.dim_out // 16, block.dim_out)
        assert bottleneck.gates[0].linear.in_features == block.dim_out


def test_trained_parameters_change_the_features(plain):
    wrapped = trained_copy(plain)
    x = torch.randn(1, 3, 128, 128)
    for a, b in zip(_features(plain, x), _features(wrapped, x)):
        assert (a - b).abs().max().item() > 1e-3


def test_base_keys_are_unchanged_and_only_peft_trains(plain):
    wrapped = wrap(copy.deepcopy(plain), MoPEFTConfig())
    missing, unexpected = wrapped.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and missing and all(".peft." in k for k in missing)
    assert all(p.requires_grad == (".peft." in n) for n, p in wrapped.named_parameters())


def test_last_blocks_and_the_cached_path(plain):
    wrapped = trained_copy(plain, MoPEFTConfig(blocks="last:2"))
    start = frozen_prefix_length(wrapped)
    assert start == 3 and frozen_prefix_length(plain) == 5
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        cached = encode_until(wrapped, x, start)
        assert len(cached[1]) == 2  # stages 0 and 1 ended among the frozen blocks
        for a, b in zip(encode_from(wrapped, cached, start), image_features(wrapped, x)):
            assert torch.equal(a, b)


def test_decoder_lora_is_refused_for_sam2(plain):
    with pytest.raises(ValueError, match="decoder_lora needs SAM 1"):
        wrap(copy.deepcopy(plain), MoPEFTConfig(["lora", "decoder_lora"]))


def test_a_kind_written_for_sam1_works_in_hiera_unchanged(plain):
    """The test-only fourth kind (tests/ssf_kind.py) knows nothing of SAM 2.1: its Site sizes it per stage."""
    from app.mopeft import KIND_REGISTRY, register_kind
    from ssf_kind import SSF

    register_kind(SSF)
    try:
        wrapped = wrap(copy.deepcopy(plain), MoPEFTConfig(["lora", "ssf"]))
    finally:
        del KIND_REGISTRY[SSF.name]
    assert [b.peft["ssf"].gamma.shape[0] for b in wrapped.vision_encoder.backbone.blocks] == [16, 32, 64, 64, 128]
    x = torch.randn(1, 3, 128, 128)
    assert all(torch.equal(a, b) for a, b in zip(_features(plain, x), _features(wrapped, x)))
