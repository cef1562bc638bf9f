"""What bfloat16 autocast leaves in float32: the attention's softmax and the encoder's neck; the engine's precision
is chosen per engine and is part of the cache key."""
import numpy as np
import pytest
import torch

from app.sam.attention import attention_probabilities
from app.sam.encoder import Float32Neck
from app.sam.engine import SamEngine
from app.sam.variants import build_sam


def test_the_neck_runs_in_float32_under_bf16_autocast_and_keeps_its_checkpoint_keys():
    sam = build_sam("tiny")
    plain = torch.nn.Sequential(*sam.image_encoder.neck)  # the same modules, segment_anything's class
    assert isinstance(sam.image_encoder.neck, Float32Neck)
    assert list(sam.image_encoder.neck.state_dict()) == list(plain.state_dict())
    tokens = torch.randn(1, sam.image_encoder.neck[0].in_channels, 8, 8)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        kept, rounded = sam.image_encoder.neck(tokens), plain(tokens)
    assert kept.dtype == torch.float32
    with torch.no_grad():
        exact = plain(tokens)
    assert (kept - exact).abs().max() < (rounded.float() - exact).abs().max()


@pytest.mark.parametrize("in_place", [True, False])
def test_attention_probabilities_are_float32_under_bf16_autocast(in_place):
    torch.manual_seed(0)
    q, k = torch.randn(2, 20, 8), torch.randn(2, 20, 8)
    rel = (torch.randn(7, 8), torch.randn(9, 8))
    exact = attention_probabilities(q, k, 0.3, rel, (4, 5), in_place=in_place)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        reduced = attention_probabilities(q, k, 0.3, rel, (4, 5), in_place=in_place)
    assert reduced.dtype == torch.float32
    torch.testing.assert_close(reduced, exact, atol=3e-2, rtol=0)
    torch.testing.assert_close(reduced.sum(-1), torch.ones(2, 20))  # rows still sum to one


def test_each_engine_runs_at_its_precision_and_keeps_its_own_cache_entries():
    sam = build_sam("tiny")
    rgb = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    fp32, bf16 = SamEngine(sam, precision="fp32"), SamEngine(sam, cache=None, precision="bf16")
    bf16.cache = fp32.cache  # one cache: the two must not see each other's embeddings
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert bf16.precision_choice.reason.startswith("bfloat16 autocast")
    assert fp32.set_image(rgb) is False and bf16.set_image(rgb) is False  # a miss each: other keys
    assert not torch.equal(fp32.image_embedding, bf16.image_embedding)
    assert bf16.image_embedding.dtype == torch.float32
    with pytest.raises(ValueError, match="unknown precision"):
        SamEngine(sam, precision="fp8")
