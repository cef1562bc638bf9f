"""The in-place attention probabilities against segment_anything's add_decomposed_rel_pos + softmax."""
import pytest
import torch
from segment_anything.modeling.image_encoder import add_decomposed_rel_pos

from app.mopeft.attention_probs import _BiasedSoftmax, attention_probabilities


def _reference(q, k, scale, rel_pos, size):
    scores = (q * scale) @ k.transpose(-2, -1)
    if rel_pos is not None:
        scores = add_decomposed_rel_pos(scores, q, *rel_pos, size, size)
    return scores.softmax(dim=-1)


@pytest.mark.parametrize("size", [(4, 4), (3, 5)])
@pytest.mark.parametrize("with_rel_pos", [True, False])
def test_probabilities_and_gradients_match_segment_anything(size, with_rel_pos):
    torch.manual_seed(0)
    h, w = size
    q = torch.randn(6, h * w, 8, requires_grad=True)
    k = torch.randn(6, h * w, 8, requires_grad=True)
    rel_pos = (torch.randn(2 * h - 1, 8, requires_grad=True), torch.randn(2 * w - 1, 8, requires_grad=True))
    rel_pos = rel_pos if with_rel_pos else None
    upstream = torch.randn(6, h * w, h * w)
    leaves = [q, k, *(rel_pos or ())]

    ours = attention_probabilities(q, k, 0.3, rel_pos, size)
    grads = torch.autograd.grad((ours * upstream).sum(), leaves)
    ref = _reference(q, k, 0.3, rel_pos, size)
    ref_grads = torch.autograd.grad((ref * upstream).sum(), leaves)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-4)


def test_biased_softmax_passes_gradcheck():
    torch.manual_seed(1)
    b, h, w = 2, 3, 4
    scores = torch.randn(b, h * w, h * w, dtype=torch.double, requires_grad=True)
    rel_h = torch.randn(b, h, w, h, dtype=torch.double, requires_grad=True)
    rel_w = torch.randn(b, h, w, w, dtype=torch.double, requires_grad=True)
    # the function overwrites its scores argument, so each call gets a copy
    assert torch.autograd.gradcheck(lambda s, rh, rw: _BiasedSoftmax.apply(s.clone(), rh, rw), (scores, rel_h, rel_w))
