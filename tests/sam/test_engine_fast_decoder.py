"""The fast decoder path against segment_anything's MaskDecoder on random prompts (the accuracy gate)."""
import numpy as np
import pytest
import torch

from app.sam.fast_decoder import FastMaskDecoder
from app.sam.variants import build_sam


def random_prompts(rng: np.random.Generator, size: int, side: int):
    """1-6 points, a box half the time, a mask input a third of the time, in model input coordinates."""
    n = int(rng.integers(1, 7))
    points = (torch.tensor(rng.uniform(0, size, (1, n, 2)), dtype=torch.float),
              torch.tensor(rng.integers(0, 2, (1, n)), dtype=torch.int))
    box = None
    if rng.random() < 0.5:
        corners = np.sort(rng.uniform(0, size, (2, 2)), axis=0)
        box = torch.tensor(corners.reshape(1, 4), dtype=torch.float)
    mask = torch.tensor(rng.normal(0, 4, (1, 1, side, side)), dtype=torch.float) if rng.random() < 0.33 else None
    return points, box, mask


@pytest.mark.parametrize("arch", ["tiny", "demo"])
@pytest.mark.slow
def test_fast_decoder_matches_reference_on_random_prompts(arch):
    torch.manual_seed(3)
    sam = build_sam(arch)
    enc = sam.prompt_encoder
    size, side = sam.image_encoder.img_size, 4 * enc.image_embedding_size[0]
    fast = FastMaskDecoder(sam)
    rng = np.random.default_rng(3)
    ious = []
    with torch.no_grad():
        for _ in range(2):
            embedding = torch.randn(1, enc.embed_dim, *enc.image_embedding_size)
            prepared = fast.prepare(embedding)
            for _ in range(8):
                points, box, mask = random_prompts(rng, size, side)
                multimask = bool(rng.integers(0, 2))
                sparse, dense = enc(points=points, boxes=box, masks=mask)
                ref_low, ref_scores = sam.mask_decoder(embedding, enc.get_dense_pe(), sparse, dense, multimask)
                low, scores = fast(prepared, sparse, dense if mask is not None else None, multimask)
                assert low.shape == ref_low.shape and scores.shape == ref_scores.shape
                torch.testing.assert_close(scores, ref_scores, atol=1e-5, rtol=1e-4)
                torch.testing.assert_close(low, ref_low, atol=1e-4, rtol=1e-4)
                a, b = low > 0, ref_low > 0
                ious.extend(((a & b).sum((-1, -2)) / (a | b).sum((-1, -2)).clamp(min=1)).flatten().tolist())
    assert min(ious) >= 0.99



def _decode_both(sam, n_points: int, seed: int):
    enc = sam.prompt_encoder
    torch.manual_seed(seed)
    embedding = torch.randn(1, enc.embed_dim, *enc.image_embedding_size)
    points = (torch.rand(1, n_points, 2) * sam.image_encoder.img_size, torch.ones(1, n_points, dtype=torch.int))
    with torch.no_grad():
        sparse, dense = enc(points=points, boxes=None, masks=None)
        ref = sam.mask_decoder(embedding, enc.get_dense_pe(), sparse, dense, True)
        fast = FastMaskDecoder(sam)
        return ref, fast(fast.prepare(embedding), sparse, None, True)


def _demo_with_decoder_lora():
    """The demo model with LoRA in its encoder and mask decoder, the decoder's PEFT tensors drawn at random (seed 1)
    so that they change the masks."""
    from app.mopeft import MoPEFTConfig, wrap

    sam = wrap(build_sam("demo"), MoPEFTConfig(["lora", "decoder_lora"]))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in sam.mask_decoder.named_parameters():
            if "peft" in name:
                p.normal_(0, 0.2)
    return sam


def _assert_same_decoding(reference, fast):
    """The fast decoder's (low-res logits, scores) equal the reference decoder's, to float rounding."""
    (ref_low, ref_scores), (low, scores) = reference, fast
    torch.testing.assert_close(scores, ref_scores, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(low, ref_low, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("n_points", [1, 40])  # 1 point: folded attention; 40: too many tokens to fold
def test_fast_decoder_folded_and_projected_attention_match_reference(n_points):
    sam = build_sam("demo")
    _assert_same_decoding(*_decode_both(sam, n_points, seed=n_points))


def test_fast_decoder_matches_reference_with_decoder_lora():
    """LoRA-wrapped q/v projections cannot be folded into the image tokens: the projected path runs."""
    sam = _demo_with_decoder_lora()
    _assert_same_decoding(*_decode_both(sam, 2, seed=5))


def _decode_batch_both(sam, n_prompts: int, multimask: bool, seed: int):
    enc = sam.prompt_encoder
    torch.manual_seed(seed)
    embedding = torch.randn(1, enc.embed_dim, *enc.image_embedding_size)
    points = (torch.rand(n_prompts, 1, 2) * sam.image_encoder.img_size, torch.ones(n_prompts, 1, dtype=torch.int))
    with torch.no_grad():
        sparse, dense = enc(points=points, boxes=None, masks=None)
        ref = sam.mask_decoder(embedding, enc.get_dense_pe(), sparse, dense, multimask)
        fast = FastMaskDecoder(sam)
        return ref, fast.decode_batch(fast.prepare(embedding), sparse, multimask)


@pytest.mark.parametrize("arch, n_prompts", [("tiny", 5), ("demo", 40)])  # demo: 40 prompts go in two slices
@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.slow
def test_batched_decoder_matches_reference_batch(arch, n_prompts, multimask):
    reference, fast = _decode_batch_both(build_sam(arch), n_prompts, multimask, seed=7)
    assert [t.shape for t in fast] == [t.shape for t in reference]   # (low-res logits, scores)
    _assert_same_decoding(reference, fast)


@pytest.mark.slow
def test_batched_decoder_with_decoder_lora_runs_prompts_one_by_one_and_matches_reference():
    sam = _demo_with_decoder_lora()
    _assert_same_decoding(*_decode_batch_both(sam, 3, True, seed=5))
