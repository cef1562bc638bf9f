"""Freezing, gradient flow, gate reporting and a short overfit run for each PEFT kind and the mix."""
import copy

import pytest
import torch

from app.mopeft import MoPEFTConfig, gate_values, peft_state_dict, trainable_parameters, wrap
from app.sam.variants import build_sam
from toy_shapes import mask_logits, mean_iou, scenes, train
from fixture_paths import TINY_SAM as FIXTURE

KIND_SETS = [["lora"], ["prefix"], ["adapter"], ["lora", "prefix", "adapter"]]


@pytest.fixture(scope="module")
def pretrained_tiny():
    sam = build_sam("tiny")
    sam.load_state_dict(torch.load(FIXTURE, weights_only=True))
    return sam


def test_only_peft_parameters_require_grad():
    sam = wrap(build_sam("tiny"), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"]))
    peft = set(peft_state_dict(sam))
    for name, p in sam.named_parameters():
        assert p.requires_grad == (name in peft), name
    counts = trainable_parameters(sam)
    assert set(counts.per_kind) == {"lora", "prefix", "adapter", "decoder_lora"}
    assert sum(counts.per_kind.values()) == counts.trainable == sum(p.numel() for n, p in sam.named_parameters()
                                                                    if n in peft)


@pytest.mark.slow
def test_every_peft_parameter_gets_a_gradient():
    """The first backward reaches every PEFT tensor; after one step (zero-initialised factors move) every
    one of them gets a non-zero gradient."""
    sam = wrap(build_sam("tiny"), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"]))
    image, mask, click = scenes(1)[0]
    params = {n: p for n, p in sam.named_parameters() if p.requires_grad}
    opt = torch.optim.SGD(params.values(), lr=0.5)
    for step in range(2):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(mask_logits(sam, image, click), mask)
        loss.backward()
        assert all(p.grad is not None for p in params.values())
        if step == 1:
            dead = [n for n, p in params.items() if p.grad.abs().sum() == 0]
            assert dead == []
        opt.step()
    base = [n for n, p in sam.named_parameters() if not p.requires_grad]
    assert all(sam.get_parameter(n).grad is None for n in base)


def test_gates_are_reported_per_block_and_kind_in_unit_interval():
    sam = wrap(build_sam("tiny"), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"], blocks=[0, 1, 3]))
    assert gate_values(sam) == {}
    with torch.no_grad():
        image, _, click = scenes(1)[0]
        mask_logits(sam, image, click)
    gates = gate_values(sam)
    encoder = {k: v for k, v in gates.items() if k.startswith("blocks.")}
    assert sorted(encoder) == ["blocks.0", "blocks.1", "blocks.3"]
    for kinds in encoder.values():
        assert set(kinds) == {"lora", "prefix", "adapter"}
    decoder = {k: v for k, v in gates.items() if k.startswith("decoder.")}
    assert len(decoder) == 7  # 2 two-way blocks x 3 attentions + the final token-to-image attention
    assert all(0 < v < 1 for kinds in gates.values() for v in kinds.values())


def test_gates_depend_on_the_input():
    sam = wrap(build_sam("tiny"), MoPEFTConfig(kinds=["adapter"]))
    seen = []
    with torch.no_grad():
        for scale in (1.0, 50.0):
            sam.image_encoder(torch.randn(1, 3, 128, 128) * scale)
            seen.append(gate_values(sam)["blocks.0"]["adapter"])
    assert seen[0] != seen[1]


@pytest.mark.parametrize("kinds", KIND_SETS, ids=["+".join(k) for k in KIND_SETS])
@pytest.mark.slow
def test_short_overfit_run_raises_iou_on_a_shifted_domain(pretrained_tiny, kinds):
    """A SAM that segments bright shapes fails on inverted ones; 150 PEFT steps on 4 images fix that."""
    data = scenes(4, seed=3, invert=True)
    sam = wrap(copy.deepcopy(pretrained_tiny), MoPEFTConfig(kinds=kinds))
    before = mean_iou(sam, data)
    train(sam, data, steps=150, lr=3e-2)
    after = mean_iou(sam, data)
    assert after >= before + 0.3, (before, after)


def test_gate_bias_sets_every_gate_the_decoders_too():
    sam = wrap(build_sam("tiny"), MoPEFTConfig(["lora", "prefix", "adapter", "decoder_lora"], gate_bias=-3.0))
    with torch.no_grad():
        image, _, click = scenes(1)[0]
        mask_logits(sam, image, click)
    gates = gate_values(sam)
    assert {k for row in gates.values() for k in row} == {"lora", "prefix", "adapter", "decoder_lora"}
    assert all(0 < v < 0.2 for row in gates.values() for v in row.values())  # sigmoid(-3) = 0.047 plus noise
