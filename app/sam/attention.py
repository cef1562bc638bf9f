"""SAM's attention probabilities, softmax(q·kᵀ·scale + decomposed relative position), computed in place.

A global-attention block of vit_b holds 12 x 4096 x 4096 scores (805 MB). Written the plain way, the two
bias additions, the softmax and the softmax's backward each allocate another such tensor, and on Linux every
one is a fresh mmap that the kernel faults in page by page. Here the scores tensor is reused for all of
them, so a training step allocates one score-sized tensor forward and one backward per block instead of
four and two (docs/benchmarks-history.md). The maths is segment_anything's `add_decomposed_rel_pos` then softmax.
Every SAM that `build_sam` makes runs its encoder attention this way (`InPlaceAttention`), and so do
MoPEFT's blocks.
"""
from __future__ import annotations

import torch
from segment_anything.modeling import Sam
from segment_anything.modeling.image_encoder import Attention, add_decomposed_rel_pos, get_rel_pos


class _BiasedSoftmax(torch.autograd.Function):
    """softmax(scores + rel_h[..., None] + rel_w[..., None, :]) over (h, w) keys, overwriting scores."""

    @staticmethod
    def forward(ctx, scores, rel_h, rel_w):
        b, h, w, kh = rel_h.shape
        grid = scores.view(b, h, w, kh, rel_w.shape[3])
        grid.add_(rel_h[..., None]).add_(rel_w[..., None, :])
        torch.softmax(scores, dim=-1, out=scores)
        ctx.mark_dirty(scores)
        ctx.save_for_backward(scores)
        ctx.grid = grid.shape
        return scores

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        grad = grad.contiguous()  # the softmax backward below overwrites it, as nothing else reads it
        torch._softmax_backward_data(grad, probs, -1, probs.dtype, grad_input=grad)
        grid = grad.view(ctx.grid)
        return grad, grid.sum(-1), grid.sum(-2)


def attention_probabilities(q: torch.Tensor, k: torch.Tensor, scale: float, rel_pos: tuple | None,
                            size: tuple[int, int], in_place: bool | None = None) -> torch.Tensor:
    """softmax((q·scale)·kᵀ + decomposed rel-pos bias) for (B, h·w, d) q and k on an h x w grid.

    `rel_pos` is (rel_pos_h, rel_pos_w) of SAM's Attention, or None when it uses none. `in_place` None: in place
    on CPU, on other devices segment_anything's own composition; True or False picks one on any device (the
    tests run the GPU's composition on CPU this way). The scores, bias and softmax are float32 whatever the
    autocast (in bfloat16 they moved the demo model's masks; `mopeft bench precision`).
    """
    scores = ((q * scale) @ k.transpose(-2, -1)).float()  # under autocast the product is bf16: softmax in fp32
    if rel_pos is None:
        return scores.softmax(dim=-1)
    if in_place is None:
        in_place = q.device.type == "cpu"
    if not in_place:  # GPU allocators cache (no page faults to save); autocast keeps this softmax in fp32
        return add_decomposed_rel_pos(scores, q, rel_pos[0], rel_pos[1], size, size).softmax(dim=-1)
    h, w = size
    r_q = q.reshape(q.shape[0], h, w, -1)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, get_rel_pos(h, h, rel_pos[0]))
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, get_rel_pos(w, w, rel_pos[1]))
    return _BiasedSoftmax.apply(scores, rel_h, rel_w)


class InPlaceAttention(Attention):
    """segment_anything's image-encoder Attention, same weights and maths, probabilities computed in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        q, k, v = split_heads(self.qkv(x), self.num_heads)
        rel_pos = (self.rel_pos_h, self.rel_pos_w) if self.use_rel_pos else None
        return self.proj(merge_heads(attention_probabilities(q, k, self.scale, rel_pos, (h, w)) @ v, b, (h, w)))


def split_heads(qkv: torch.Tensor, num_heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (B, H, W, 3·C) output of SAM's qkv projection as q, k, v, each (B·heads, H·W, C/heads)."""
    b, h, w, _ = qkv.shape
    qkv = qkv.reshape(b, h * w, 3, num_heads, -1).permute(2, 0, 3, 1, 4)
    return qkv.reshape(3, b * num_heads, h * w, -1).unbind(0)


def merge_heads(out: torch.Tensor, batch: int, size: tuple[int, int]) -> torch.Tensor:
    """Attention output (B·heads, H·W, C/heads) back to (B, H, W, C)."""
    h, w = size
    return out.view(batch, out.shape[0] // batch, h, w, -1).permute(0, 2, 3, 1, 4).reshape(batch, h, w, -1)


def use_in_place_attention(sam: Sam) -> Sam:
    """Switch every encoder block's Attention to `InPlaceAttention` (a class change: parameters, state-dict
    keys and checkpoints stay as they are); returns `sam`."""
    for block in sam.image_encoder.blocks:
        if type(block.attn) is Attention:
            block.attn.__class__ = InPlaceAttention
    return sam
