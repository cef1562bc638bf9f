"""The cached-intermediate path (frozen first blocks computed once) equals the full forward."""
import pytest
import torch

from app.mopeft import MoPEFTConfig, encode_from, encode_until, frozen_prefix_length, wrap
from app.sam.variants import build_sam


@pytest.mark.parametrize("blocks,start", [("last:1", 3), ("last:2", 2), ("all", 0), ([2, 3], 2)])
def test_cached_path_equals_full_forward(blocks, start):
    sam = wrap(build_sam("tiny"), MoPEFTConfig(blocks=blocks))
    with torch.no_grad():
        for p in sam.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)  # as after training: the PEFT blocks are not identities
    assert frozen_prefix_length(sam) == start
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        full = sam.image_encoder(x)
        cached = encode_until(sam, x, start)
        assert cached.shape == (2, 8, 8, 64)
        assert torch.allclose(encode_from(sam, cached, start), full, atol=1e-6)


def test_gradient_reaches_the_wrapped_blocks_from_cached_tokens():
    sam = wrap(build_sam("tiny"), MoPEFTConfig(blocks="last:2"))
    with torch.no_grad():
        tokens = encode_until(sam, torch.randn(1, 3, 128, 128), 2)
    encode_from(sam, tokens, 2).sum().backward()
    assert all(p.grad is not None for p in sam.parameters() if p.requires_grad)


def test_unwrapped_model_has_every_block_frozen():
    assert frozen_prefix_length(build_sam("tiny")) == 4
