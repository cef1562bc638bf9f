"""The in-place attention probabilities against segment_anything's add_decomposed_rel_pos + softmax."""
import pytest
import torch
from segment_anything.modeling.image_encoder import add_decomposed_rel_pos

from app.sam.attention import _BiasedSoftmax, attention_probabilities


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


@pytest.mark.slow
def test_biased_softmax_passes_gradcheck():
    torch.manual_seed(1)
    b, h, w = 2, 3, 4
    scores = torch.randn(b, h * w, h * w, dtype=torch.double, requires_grad=True)
    rel_h = torch.randn(b, h, w, h, dtype=torch.double, requires_grad=True)
    rel_w = torch.randn(b, h, w, w, dtype=torch.double, requires_grad=True)
    # the function overwrites its scores argument, so each call gets a copy
    assert torch.autograd.gradcheck(lambda s, rh, rw: _BiasedSoftmax.apply(s.clone(), rh, rw), (scores, rel_h, rel_w))


def test_built_sams_encode_as_segment_anything_does():
    import copy

    from segment_anything.modeling.image_encoder import Attention

    from app.sam.attention import InPlaceAttention
    from app.sam.variants import build_sam

    torch.manual_seed(2)
    sam = build_sam("tiny")
    assert all(type(block.attn) is InPlaceAttention for block in sam.image_encoder.blocks)
    reference = copy.deepcopy(sam)
    for block in reference.image_encoder.blocks:
        block.attn.__class__ = Attention
    assert sam.state_dict().keys() == reference.state_dict().keys()
    image = torch.randn(1, 3, sam.image_encoder.img_size, sam.image_encoder.img_size, requires_grad=True)
    ours = sam.image_encoder(image)
    (grad,) = torch.autograd.grad(ours.square().sum(), image)
    ref = reference.image_encoder(image)
    (ref_grad,) = torch.autograd.grad(ref.square().sum(), image)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-4)



def test_other_devices_use_segment_anythings_composition(monkeypatch):
    """Off the CPU (here the shape-only "meta" device) the in-place Function is not used."""
    def refuse(*args):
        raise AssertionError("in-place path used off the CPU")

    monkeypatch.setattr(_BiasedSoftmax, "apply", refuse)
    q = k = torch.empty(2, 12, 8, device="meta")
    rel_pos = (torch.empty(5, 8, device="meta"), torch.empty(7, 8, device="meta"))
    assert attention_probabilities(q, k, 0.3, rel_pos, (3, 4)).shape == (2, 12, 12)
    with pytest.raises(AssertionError, match="in-place path"):
        attention_probabilities(torch.randn(2, 12, 8), torch.randn(2, 12, 8), 0.3,
                                (torch.randn(5, 8), torch.randn(7, 8)), (3, 4))
