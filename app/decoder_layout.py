"""SAM's mask-decoder maths in a CPU-friendly layout, shared by SAM 1's and SAM 2.1's fast decoders.

Both families decode with the same two-way transformer and transposed-convolution up-scaler; their modules differ
only in names (segment_anything's `Attention` has `num_heads` and `out_proj`, transformers' `Sam2Attention`
`num_attention_heads` and `o_proj`; `norm1` against `layer_norm1`), which the accessors below hide.
`app.sam.fast_decoder` and `app.sam2.fast_decoder` put their own token layout around these pieces.
docs/engine.md ("The fast path") has the algebra and the measurements:

- tokens stay (HW, C) row-major; the image-side projections of the first layer are computed once per image;
- attention between the few prompt tokens and the many image tokens multiplies the prompt side by the projection
  weights instead of projecting every image token (exact algebra, used while heads x tokens < the attention width,
  and never through a LoRA-wrapped layer);
- the 2x2 stride-2 transposed convolutions are per-pixel matrix products on rows in a scrambled pixel order; only
  the final mask channels are put back in raster order;
- low-res logits go to the image size by OpenCV's bilinear resize, one plane at a time.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CPU_BATCH_BYTES = 4 << 20
"""Image-token bytes per slice of a batch on a CPU: batched image-side tensors (B x HW x C) past the
caches make every elementwise op memory-bound (ViT-B, 16 prompts at once: 2x slower than one by one;
demo model, 32 at once: 1.8x faster)."""


@dataclass(frozen=True)
class DecoderImage:
    """What a fast decoder needs per image, computed once by its `prepare` (SAM 2.1's adds its
    high-resolution maps: `app.sam2.fast_decoder.Sam2DecoderImage`)."""

    tokens: torch.Tensor  # (HW, C) image embedding tokens, raster order
    pe: torch.Tensor  # (HW, C) dense positional encoding
    grid: tuple[int, int]  # (h, w) of the embedding
    no_mask_keys: torch.Tensor  # tokens + the no-mask dense embedding
    first_layer: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # layer-0 k, v, q (q as (h, D/h, HW))


def out_proj(attn: nn.Module) -> nn.Module:
    """The output projection of either family's decoder attention."""
    return attn.o_proj if hasattr(attn, "o_proj") else attn.out_proj


def num_heads(attn: nn.Module) -> int:
    """The head count of either family's decoder attention."""
    return attn.num_attention_heads if hasattr(attn, "num_attention_heads") else attn.num_heads


def _norms(layer: nn.Module) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    if hasattr(layer, "layer_norm1"):
        return layer.layer_norm1, layer.layer_norm2, layer.layer_norm3, layer.layer_norm4
    return layer.norm1, layer.norm2, layer.norm3, layer.norm4


def final_norm(transformer: nn.Module) -> nn.Module:
    """The two-way transformer's LayerNorm after its final token-to-image attention."""
    if hasattr(transformer, "layer_norm_final_attn"):
        return transformer.layer_norm_final_attn
    return transformer.norm_final_attn


def plain(*layers: nn.Module) -> bool:
    """True when every layer is a bare Linear, whose weights can be folded (not a LoRA-wrapped one)."""
    return all(type(layer) is nn.Linear for layer in layers)


def project(linear: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """linear(x) for (N, C) tokens of one sample; a gated (LoRA) projection is given them as a batch
    of one, since its gate averages over the tokens of each sample."""
    return linear(x) if plain(linear) else linear(x[None])[0]


def attend(attn: nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Multi-head attention on already projected (N, D) inputs; returns the output projection of the result."""
    h = num_heads(attn)
    qh, kh, vh = (x.view(x.shape[0], h, -1).transpose(0, 1) for x in (q, k, v))
    out = F.scaled_dot_product_attention(qh, kh, vh)
    return project(out_proj(attn), out.transpose(0, 1).reshape(q.shape[0], -1))


def _self_attention(attn: nn.Module, qk: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """attn(q=qk, k=qk, v=v) on (n, C) tokens of one prompt or (B, n, C) of B prompts."""
    if qk.dim() == 2:
        return attend(attn, project(attn.q_proj, qk), project(attn.k_proj, qk), project(attn.v_proj, v))
    b, n, _ = qk.shape
    h = num_heads(attn)
    q, k, vv = (x.view(b, n, h, -1).transpose(1, 2) for x in (attn.q_proj(qk), attn.k_proj(qk), attn.v_proj(v)))
    out = F.scaled_dot_product_attention(q, k, vv)
    return out_proj(attn)(out.transpose(1, 2).reshape(b, n, -1))


def _heads(linear: nn.Linear, h: int) -> torch.Tensor:
    """A projection's weight (D, C) split by output head: (h, D/h, C)."""
    return linear.weight.view(h, -1, linear.weight.shape[1])


def _query_heads(q: torch.Tensor, h: int) -> torch.Tensor:
    """Projected image queries (HW, D) split by head and transposed: (h, D/h, HW)."""
    return q.view(q.shape[0], h, -1).permute(1, 2, 0)


def token_to_image(attn: nn.Module, q_in: torch.Tensor, kpe: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """attn(q=q_in, k=kpe, v=keys) for a few prompt tokens over the many image tokens.

    When h * tokens < D the image tokens are never projected: per head, q·(K Wkᵀ + bk)ᵀ equals
    (q Wk)·Kᵀ plus a per-row constant that the softmax drops, and P·(K Wvᵀ + bv) equals
    (P·K) Wvᵀ + bv since P's rows sum to 1.
    """
    h, q = num_heads(attn), project(attn.q_proj, q_in)
    n, d = q.shape[0], q.shape[1] // h
    if h * n >= q.shape[1] or not plain(attn.k_proj, attn.v_proj):
        return attend(attn, q, project(attn.k_proj, kpe), project(attn.v_proj, keys))
    qk = (q.view(n, h, d).transpose(0, 1) @ _heads(attn.k_proj, h)).reshape(h * n, -1)
    p = torch.softmax(qk @ kpe.t() / math.sqrt(d), dim=-1)
    pv = (p @ keys).view(h, n, -1) @ _heads(attn.v_proj, h).transpose(1, 2)
    return project(out_proj(attn), pv.transpose(0, 1).reshape(n, -1) + attn.v_proj.bias)


def image_to_token(attn: nn.Module, q_t: torch.Tensor | None, kpe: torch.Tensor,
                   k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """attn(q=kpe, k=k_in, v=v_in) for the many image tokens over a few prompt tokens.

    `q_t` is q_proj(kpe) already computed, split by head as (h, D/h, HW). Scores are laid out
    (h, tokens, HW) so the softmax runs over a short strided axis with long rows (a softmax
    over a last axis of a few tokens is 20x slower). When h * tokens < D the queries are not
    projected: per head, (K Wqᵀ + bq)·kᵀ = K·(Wqᵀ kᵀ) + bq·kᵀ, and the output projection is
    folded the same way: concat_h(P_h v_h) Woᵀ = Σ_h P_h (v_h Wo_hᵀ).
    """
    h, k, v, out = num_heads(attn), project(attn.k_proj, k_in), project(attn.v_proj, v_in), out_proj(attn)
    n, dim = k.shape
    d, fold = dim // h, h * n < dim
    kh = k.view(n, h, d).transpose(0, 1)
    if q_t is None and fold and plain(attn.q_proj):
        qk = (kh @ _heads(attn.q_proj, h)).reshape(h * n, -1)
        bias = (kh @ attn.q_proj.bias.view(h, d, 1)).reshape(h * n, 1)
        scores = torch.addmm(bias, qk, kpe.t()).view(h, n, -1)
    else:
        if q_t is None:
            q_t = _query_heads(project(attn.q_proj, kpe), h)
        scores = kh @ q_t
    p = torch.softmax(scores / math.sqrt(d), dim=1)
    if fold and plain(out):
        vw = v.view(n, h, d).transpose(0, 1) @ out.weight.view(-1, h, d).permute(1, 2, 0)
        return torch.addmm(out.bias, p.view(h * n, -1).t(), vw.reshape(h * n, -1))
    o = p.transpose(1, 2) @ v.view(n, h, d).transpose(0, 1)
    return project(out, o.transpose(0, 1).reshape(-1, dim))


def first_layer_projections(layer: nn.Module, keys: torch.Tensor, pe: torch.Tensor):
    """The first two-way layer's image-side projections for (HW, C) keys: token->image k and v, image->token q
    (as (h, D/h, HW)); they depend only on the image when there is no mask input."""
    kpe = keys + pe
    t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
    q_t = _query_heads(project(i2t.q_proj, kpe), num_heads(i2t)).contiguous()
    return project(t2i.k_proj, kpe), project(t2i.v_proj, keys), q_t


def _two_way_block(layer: nn.Module, queries, keys, query_pe, key_pe, first, to_image, first_to_image, to_token):
    """A two-way attention block's forward, its cross-attentions given: `to_image(attn, q, kpe, keys)`,
    `first_to_image(attn, q, k_img, v_img)` on the image's precomputed projections `first`, and
    `to_token(attn, q_img, kpe, k_in, v_in)` (one prompt's (N, C) tensors, or B prompts' (B, N, C))."""
    norm1, norm2, norm3, norm4 = _norms(layer)
    if layer.skip_first_layer_pe:
        queries = _self_attention(layer.self_attn, queries, queries)
    else:
        queries = queries + _self_attention(layer.self_attn, queries + query_pe, queries)
    queries = norm1(queries)

    t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
    q = queries + query_pe
    if first is None:
        kpe = keys + key_pe
        q_img, t2i_out = None, to_image(t2i, q, kpe, keys)
    else:
        (k_img, v_img, q_img), kpe = first, None
        t2i_out = first_to_image(t2i, q, k_img, v_img)
    queries = norm2(queries + t2i_out)
    queries = norm3(queries + layer.mlp(queries))

    q = queries + query_pe
    keys = norm4(keys + to_token(i2t, q_img, kpe, q, queries))
    return queries, keys


def _first_to_image(attn: nn.Module, q: torch.Tensor, k_img: torch.Tensor, v_img: torch.Tensor) -> torch.Tensor:
    """One prompt's (n, C) queries attending to the image's precomputed k and v."""
    return attend(attn, project(attn.q_proj, q), k_img, v_img)


def two_way_layer(layer: nn.Module, queries, keys, query_pe, key_pe, first):
    """A two-way attention block's forward on (N, C) tensors, reusing precomputed image projections `first`
    (`first_layer_projections`) when given."""
    return _two_way_block(layer, queries, keys, query_pe, key_pe, first, token_to_image, _first_to_image,
                          image_to_token)


def run_transformer(transformer: nn.Module, point_emb, keys, pe, first):
    """The two-way transformer on one prompt's (n, C) tokens and the (HW, C) keys: (queries, keys)."""
    queries = point_emb
    for i, layer in enumerate(transformer.layers):
        queries, keys = two_way_layer(layer, queries, keys, point_emb, pe, first if i == 0 else None)
    out = token_to_image(transformer.final_attn_token_to_image, queries + point_emb, keys + pe, keys)
    return final_norm(transformer)(queries + out), keys


def _batch_token_to_image(attn: nn.Module, q_in: torch.Tensor, kpe: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """`token_to_image`'s folded path for B prompts at once: q_in (B, n, C), kpe and keys (B, HW, C)."""
    h, q = num_heads(attn), attn.q_proj(q_in)
    b, n, d = q.shape[0], q.shape[1], q.shape[2] // h
    qk = (q.view(b, n, h, d).transpose(1, 2) @ _heads(attn.k_proj, h)).reshape(b, h * n, -1)
    p = torch.softmax(qk @ kpe.transpose(1, 2) / math.sqrt(d), dim=-1)
    pv = (p @ keys).view(b, h, n, -1) @ _heads(attn.v_proj, h).transpose(1, 2)
    return out_proj(attn)(pv.transpose(1, 2).reshape(b, n, -1) + attn.v_proj.bias)


def _batch_image_to_token(attn: nn.Module, q_t: torch.Tensor | None, kpe: torch.Tensor | None,
                          k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """`image_to_token`'s folded path for B prompts: k_in, v_in (B, n, C); either the image's shared
    projected queries `q_t` (h, D/h, HW) or the prompts' own kpe (B, HW, C). Returns (B, HW, C)."""
    h, k, v, out = num_heads(attn), attn.k_proj(k_in), attn.v_proj(v_in), out_proj(attn)
    b, n, dim = k.shape
    d = dim // h
    kh = k.view(b, n, h, d).transpose(1, 2)
    if q_t is None:
        qk = (kh @ _heads(attn.q_proj, h)).reshape(b, h * n, -1)
        bias = (kh @ attn.q_proj.bias.view(h, d, 1)).reshape(b, h * n, 1)
        scores = torch.baddbmm(bias, qk, kpe.transpose(1, 2)).view(b, h, n, -1)
    else:
        scores = kh @ q_t
    p = torch.softmax(scores / math.sqrt(d), dim=2)
    vw = v.view(b, n, h, d).transpose(1, 2) @ out.weight.view(-1, h, d).permute(1, 2, 0)
    return torch.baddbmm(out.bias, p.view(b, h * n, -1).transpose(1, 2), vw.reshape(b, h * n, -1))


def _batch_first_to_image(attn: nn.Module, q: torch.Tensor, k_img: torch.Tensor, v_img: torch.Tensor) -> torch.Tensor:
    """B prompts' (B, n, C) queries attending to the image's own projections, as one stack of rows."""
    b, n = q.shape[:2]
    return attend(attn, attn.q_proj(q).reshape(b * n, -1), k_img, v_img).view(b, n, -1)


def _batch_two_way_layer(layer: nn.Module, queries, keys, query_pe, key_pe, first):
    """`two_way_layer` for B prompts: queries (B, n, C); keys (HW, C) shared in the first layer, else (B, HW, C)."""
    return _two_way_block(layer, queries, keys, query_pe, key_pe, first, _batch_token_to_image,
                          _batch_first_to_image, _batch_image_to_token)


def run_transformer_batch(transformer: nn.Module, point_emb, keys, pe, first):
    """`run_transformer` for B prompts of the same length, point_emb (B, n, C), sharing the image's (HW, C) keys
    and first-layer projections (no mask input); only when `batch_folds`. Returns queries (B, n, C) and keys
    (B, HW, C)."""
    queries = point_emb
    for i, layer in enumerate(transformer.layers):
        queries, keys = _batch_two_way_layer(layer, queries, keys, point_emb, pe, first if i == 0 else None)
    out = _batch_token_to_image(transformer.final_attn_token_to_image, queries + point_emb, keys + pe, keys)
    return final_norm(transformer)(queries + out), keys


def batch_folds(transformer: nn.Module, tokens: int) -> bool:
    """True when every cross-attention of the transformer runs folded for prompts of `tokens` tokens (output
    tokens included), as `run_transformer_batch` needs."""
    attns = [transformer.final_attn_token_to_image]
    attns += [a for layer in transformer.layers for a in (layer.cross_attn_token_to_image,
                                                          layer.cross_attn_image_to_token)]
    return all(plain(a.q_proj, a.k_proj, a.v_proj, out_proj(a)) and num_heads(a) * tokens < a.internal_dim
               for a in attns)


def batch_slices(n: int, image_bytes: int, on_gpu: bool) -> range:
    """Starts of the slices a batch of n prompts is decoded in: all at once on a GPU; on a CPU, slices whose
    image-side tensors stay near the cache size (`CPU_BATCH_BYTES`), given the bytes of one prompt's tokens."""
    step = n if on_gpu else max(1, CPU_BATCH_BYTES // image_bytes)
    return range(0, n, step)


def _as_matrix(weight: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d weight (Cin, Cout, 2, 2) -> (Cin, 4*Cout), columns ordered (di, dj, cout)."""
    return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)


def scrambled_rows(feature: torch.Tensor, levels: int) -> torch.Tensor:
    """A (C, 2^levels·h, 2^levels·w) map as (pixels, C) rows in the up-scaler's order after `levels` transposed
    convolutions: (i, j, di, dj) for one, (i, j, di, dj, di2, dj2) for two (row 4i+2di+di2, column 4j+2dj+dj2)."""
    c, hh, ww = feature.shape
    s = 2 ** levels
    x = feature.reshape(c, hh // s, *([2] * levels), ww // s, *([2] * levels))
    rows, cols = list(range(2, 2 + levels)), list(range(3 + levels, 3 + 2 * levels))
    order = [1, 2 + levels] + [a for pair in zip(rows, cols) for a in pair] + [0]
    return x.permute(order).reshape(-1, c).contiguous()


def upscale_and_project(layers, keys: torch.Tensor, hyper: torch.Tensor, grid: tuple[int, int],
                        high_res: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """The transposed-conv up-scaler and the hypernetwork product, per pixel.

    `layers` is (conv1, norm, act1, conv2, act2) of the up-scaler. `keys` is (HW, C) with `hyper` (M, C') for one
    prompt, giving (M, 4h, 4w); or (B*HW, C) with `hyper` (B, M, C') for B prompts, giving (B, M, 4h, 4w). Row r
    of `keys` is embedding pixel (i, j). A 2x2 stride-2 transposed conv maps it to the 4 output pixels
    (2i+di, 2j+dj), so out rows are ordered (i, j, di, dj); the second conv appends (di2, dj2). `high_res`
    (SAM 2's stride-8 and stride-4 features, as `scrambled_rows` of one and two levels) are added after the first
    and the second convolution. Only the M-channel result is reordered to raster.
    """
    conv1, norm, act1, conv2, act2 = layers
    x = torch.addmm(conv1.bias.repeat(4), keys, _as_matrix(conv1.weight)).view(-1, conv1.out_channels)
    if high_res is not None:
        x = x.view(-1, *high_res[0].shape).add_(high_res[0]).view(-1, conv1.out_channels)
    x = act1(F.layer_norm(x, (x.shape[1],), norm.weight, norm.bias, norm.eps))
    x = torch.addmm(conv2.bias.repeat(4), x, _as_matrix(conv2.weight)).view(-1, conv2.out_channels)
    if high_res is not None:
        x = x.view(-1, *high_res[1].shape).add_(high_res[1]).view(-1, conv2.out_channels)
    x = act2(x)
    h, w = grid
    if hyper.dim() == 2:
        m = x @ hyper.t()
        m = m.view(h, w, 2, 2, 2, 2, -1).permute(6, 0, 2, 4, 1, 3, 5)
        return m.reshape(-1, 4 * h, 4 * w)
    b = hyper.shape[0]
    m = x.view(b, -1, x.shape[1]) @ hyper.transpose(1, 2)
    m = m.view(b, h, w, 2, 2, 2, 2, -1).permute(0, 7, 1, 3, 5, 2, 4, 6)
    return m.reshape(b, -1, 4 * h, 4 * w)


def bilinear(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float32 (h, w) plane resized to `size` (H, W) by OpenCV's bilinear resize, which is torch's
    `interpolate(mode="bilinear", align_corners=False)` without antialias (equal within ~1e-6 at integer scales, ~2e-5
    of the values' range at others, where the two round the source coordinates differently); a copy-free identity
    when the size is already right."""
    if plane.shape == tuple(size):
        return plane
    return cv2.resize(np.ascontiguousarray(plane), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def threshold_planes(planes: np.ndarray, to_size: Callable[[np.ndarray], np.ndarray], size: tuple[int, int],
                     threshold: float) -> np.ndarray:
    """(M, H, W) bool masks from M low-res logit planes: `to_size(plane) > threshold`, one plane at a time (no
    channel transposes)."""
    masks = np.empty((len(planes), *size), dtype=bool)
    for plane, mask in zip(planes, masks):
        np.greater(to_size(plane), threshold, out=mask)
    return masks
