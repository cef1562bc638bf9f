"""SAM's mask decoder for one image and one prompt set, rearranged to run fast on a CPU.

Same weights, same maths as `segment_anything.modeling.MaskDecoder`, rearranged four ways
(see docs/engine.md for the measurements behind them):

- tokens stay (HW, C) row-major throughout: the positional encoding and the image tokens are
  made contiguous once per image, so no strided adds or permute-copies run per prompt;
- the first two-way layer's image-side projections depend only on the image when no mask
  input is given, so they are computed once per image (`DecoderImage`) and reused per prompt;
- the two stride-2 transposed convolutions of the up-scaler are per-pixel matrix products:
  they, the LayerNorm and the GELUs run on (pixels, channels) rows in a scrambled pixel order,
  and only the final (few) mask channels are put back in raster order. Single-mask mode
  builds one mask instead of four;
- attention between the few prompt tokens and the 4,096 image tokens multiplies the prompt
  side by the projection weights instead of projecting every image token (exact algebra,
  used while heads x tokens < the attention width, and never through a LoRA-wrapped layer).

Results equal the reference up to float rounding (tests/sam/test_engine_fast_decoder.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.modeling.transformer import Attention, TwoWayAttentionBlock
from torch import nn


_CPU_BATCH_BYTES = 4 << 20
"""Image-token bytes per slice of a batch on a CPU: batched image-side tensors (B x HW x C) past the
caches make every elementwise op memory-bound (ViT-B, 16 prompts at once: 2x slower than one by one;
demo model, 32 at once: 1.8x faster)."""


@dataclass(frozen=True)
class DecoderImage:
    """What the decoder needs per image, computed once by `FastMaskDecoder.prepare`."""

    tokens: torch.Tensor  # (HW, C) image embedding tokens, raster order
    pe: torch.Tensor  # (HW, C) dense positional encoding
    grid: tuple[int, int]  # (h, w) of the embedding
    no_mask_keys: torch.Tensor  # tokens + the no-mask dense embedding
    first_layer: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # layer-0 k, v, q (q as (h, D/h, HW))


def _attend(attn: Attention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Multi-head attention on already projected (N, D) inputs; returns out_proj of the result."""
    h = attn.num_heads
    qh, kh, vh = (x.view(x.shape[0], h, -1).transpose(0, 1) for x in (q, k, v))
    out = F.scaled_dot_product_attention(qh, kh, vh)
    return _project(attn.out_proj, out.transpose(0, 1).reshape(q.shape[0], -1))


def _project(linear: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """linear(x) for (N, C) tokens of one sample; a gated (LoRA) projection is given them as a batch
    of one, since its gate averages over the tokens of each sample."""
    return linear(x) if _plain(linear) else linear(x[None])[0]


def _plain(*layers: nn.Module) -> bool:
    """True when every layer is a bare Linear, whose weights can be folded (not a LoRA-wrapped one)."""
    return all(type(layer) is nn.Linear for layer in layers)


def _heads(linear: nn.Linear, h: int) -> torch.Tensor:
    """A projection's weight (D, C) split by output head: (h, D/h, C)."""
    return linear.weight.view(h, -1, linear.weight.shape[1])


def _query_heads(q: torch.Tensor, h: int) -> torch.Tensor:
    """Projected image queries (HW, D) split by head and transposed: (h, D/h, HW)."""
    return q.view(q.shape[0], h, -1).permute(1, 2, 0)


def _token_to_image(attn: Attention, q_in: torch.Tensor, kpe: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """attn(q=q_in, k=kpe, v=keys) for a few prompt tokens over the many image tokens.

    When h * tokens < D the image tokens are never projected: per head, q·(K Wkᵀ + bk)ᵀ equals
    (q Wk)·Kᵀ plus a per-row constant that the softmax drops, and P·(K Wvᵀ + bv) equals
    (P·K) Wvᵀ + bv since P's rows sum to 1.
    """
    h, q = attn.num_heads, _project(attn.q_proj, q_in)
    n, d = q.shape[0], q.shape[1] // h
    if h * n >= q.shape[1] or not _plain(attn.k_proj, attn.v_proj):
        return _attend(attn, q, _project(attn.k_proj, kpe), _project(attn.v_proj, keys))
    qk = (q.view(n, h, d).transpose(0, 1) @ _heads(attn.k_proj, h)).reshape(h * n, -1)
    p = torch.softmax(qk @ kpe.t() / math.sqrt(d), dim=-1)
    pv = (p @ keys).view(h, n, -1) @ _heads(attn.v_proj, h).transpose(1, 2)
    return _project(attn.out_proj, pv.transpose(0, 1).reshape(n, -1) + attn.v_proj.bias)


def _image_to_token(attn: Attention, q_t: torch.Tensor | None, kpe: torch.Tensor,
                    k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """attn(q=kpe, k=k_in, v=v_in) for the many image tokens over a few prompt tokens.

    `q_t` is q_proj(kpe) already computed, split by head as (h, D/h, HW). Scores are laid out
    (h, tokens, HW) so the softmax runs over a short strided axis with long rows (a softmax
    over a last axis of a few tokens is 20x slower). When h * tokens < D the queries are not
    projected: per head, (K Wqᵀ + bq)·kᵀ = K·(Wqᵀ kᵀ) + bq·kᵀ, and the output projection is
    folded the same way: concat_h(P_h v_h) Woᵀ = Σ_h P_h (v_h Wo_hᵀ).
    """
    h, k, v = attn.num_heads, _project(attn.k_proj, k_in), _project(attn.v_proj, v_in)
    n, dim = k.shape
    d, fold = dim // h, h * n < dim
    kh = k.view(n, h, d).transpose(0, 1)
    if q_t is None and fold and _plain(attn.q_proj):
        qk = (kh @ _heads(attn.q_proj, h)).reshape(h * n, -1)
        bias = (kh @ attn.q_proj.bias.view(h, d, 1)).reshape(h * n, 1)
        scores = torch.addmm(bias, qk, kpe.t()).view(h, n, -1)
    else:
        if q_t is None:
            q_t = _query_heads(_project(attn.q_proj, kpe), h)
        scores = kh @ q_t
    p = torch.softmax(scores / math.sqrt(d), dim=1)
    if fold and _plain(attn.out_proj):
        vw = v.view(n, h, d).transpose(0, 1) @ attn.out_proj.weight.view(-1, h, d).permute(1, 2, 0)
        return torch.addmm(attn.out_proj.bias, p.view(h * n, -1).t(), vw.reshape(h * n, -1))
    out = p.transpose(1, 2) @ v.view(n, h, d).transpose(0, 1)
    return _project(attn.out_proj, out.transpose(0, 1).reshape(-1, dim))


class FastMaskDecoder:
    """Prompt embeddings + a prepared image -> low-res mask logits and IoU scores.

    Reads the live weights of `sam.mask_decoder` and `sam.prompt_encoder` on every call; only
    `DecoderImage` holds derived tensors, so prepare images again after the decoder's weights
    change.
    """

    def __init__(self, sam: Sam) -> None:
        self.sam = sam

    @torch.no_grad()
    def prepare(self, embedding: torch.Tensor) -> DecoderImage:
        """Per-image work for an image embedding of shape (1, C, h, w)."""
        pe_enc = self.sam.prompt_encoder
        h, w = embedding.shape[-2:]
        tokens = embedding[0].flatten(1).t().contiguous()
        pe = pe_enc.get_dense_pe()[0].flatten(1).t().contiguous()
        keys = tokens + pe_enc.no_mask_embed.weight
        return DecoderImage(tokens, pe, (h, w), keys, self._first_layer_projections(keys, pe))

    def _first_layer_projections(self, keys: torch.Tensor, pe: torch.Tensor):
        layer = self.sam.mask_decoder.transformer.layers[0]
        kpe = keys + pe
        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        q_t = _query_heads(_project(i2t.q_proj, kpe), i2t.num_heads).contiguous()
        return _project(t2i.k_proj, kpe), _project(t2i.v_proj, keys), q_t

    @torch.no_grad()
    def __call__(
        self,
        image: DecoderImage,
        sparse: torch.Tensor,
        dense: torch.Tensor | None,
        multimask: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode one prompt set.

        `sparse` is the prompt encoder's (1, N, C) output, `dense` its (1, C, h, w) mask-input
        embedding or None when no mask input was given. Returns low-res logits (1, M, 4h, 4w)
        and scores (1, M), M = 3 with `multimask` else 1, exactly as MaskDecoder.forward.
        """
        dec = self.sam.mask_decoder
        out_tokens = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight, sparse[0]], dim=0)
        if dense is None:
            keys, first = image.no_mask_keys, image.first_layer
        else:
            keys = image.tokens + dense[0].flatten(1).t()
            first = self._first_layer_projections(keys, image.pe)
        queries, keys = self._transformer(out_tokens, keys, image.pe, first)

        chosen = range(1, dec.num_mask_tokens) if multimask else range(1)
        hyper = torch.cat([dec.output_hypernetworks_mlps[i](queries[1 + i : 2 + i]) for i in chosen])
        masks = self._upscale_and_project(keys, hyper, image.grid)
        scores = dec.iou_prediction_head(queries[:1])[0, list(chosen)]
        return masks[None], scores[None]

    @torch.no_grad()
    def decode_batch(self, image: DecoderImage, sparse: torch.Tensor,
                     multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode B prompt sets of the same length at once, without mask input.

        `sparse` is the prompt encoder's (B, N, C) output. Returns low-res logits (B, M, 4h, 4w) and
        scores (B, M), as `MaskDecoder.forward` on the batch (and as B calls of this decoder). The
        prompts share the image's first-layer projections and run as batched matrix products; a
        decoder whose cross-attention cannot be folded (LoRA-wrapped, or too many tokens) runs
        the prompts one by one instead. On a CPU the batch goes in slices whose image-side
        tensors stay near the cache size (`_CPU_BATCH_BYTES`): one prompt at a time for ViT-B
        (4 MiB of image tokens each), 32 for the demo model.
        """
        if not self._batch_folds(sparse.shape[1]):
            outs = [self(image, s[None], None, multimask) for s in sparse]
        else:
            step = sparse.shape[0] if sparse.is_cuda else max(1, _CPU_BATCH_BYTES // image.tokens.nbytes)
            outs = [self._decode_folded(image, sparse[i : i + step], multimask)
                    for i in range(0, sparse.shape[0], step)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    def _decode_folded(self, image: DecoderImage, sparse: torch.Tensor, multimask: bool):
        dec = self.sam.mask_decoder
        fixed = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight])
        out_tokens = torch.cat([fixed.expand(sparse.shape[0], -1, -1), sparse], dim=1)
        tr, keys, pe = dec.transformer, image.no_mask_keys, image.pe
        queries = out_tokens
        for i, layer in enumerate(tr.layers):
            queries, keys = _batch_two_way_layer(layer, queries, keys, out_tokens, pe,
                                                 image.first_layer if i == 0 else None)
        out = _batch_token_to_image(tr.final_attn_token_to_image, queries + out_tokens, keys + pe, keys)
        queries = tr.norm_final_attn(queries + out)

        chosen = range(1, dec.num_mask_tokens) if multimask else range(1)
        hyper = torch.stack([dec.output_hypernetworks_mlps[i](queries[:, 1 + i]) for i in chosen], dim=1)
        masks = self._upscale_and_project(keys.reshape(-1, keys.shape[-1]), hyper, image.grid)
        scores = dec.iou_prediction_head(queries[:, 0])[:, list(chosen)]
        return masks, scores

    def _batch_folds(self, n_sparse: int) -> bool:
        """True when every cross-attention of the decoder runs folded for prompts of n_sparse tokens."""
        dec = self.sam.mask_decoder
        tokens = 1 + dec.num_mask_tokens + n_sparse
        tr = dec.transformer
        attns = [tr.final_attn_token_to_image]
        attns += [a for layer in tr.layers for a in (layer.cross_attn_token_to_image, layer.cross_attn_image_to_token)]
        return all(_plain(a.q_proj, a.k_proj, a.v_proj, a.out_proj) and a.num_heads * tokens < a.internal_dim
                   for a in attns)

    def _transformer(self, point_emb, keys, pe, first):
        tr = self.sam.mask_decoder.transformer
        queries = point_emb
        for i, layer in enumerate(tr.layers):
            queries, keys = _two_way_layer(layer, queries, keys, point_emb, pe, first if i == 0 else None)
        out = _token_to_image(tr.final_attn_token_to_image, queries + point_emb, keys + pe, keys)
        return tr.norm_final_attn(queries + out), keys

    def _upscale_and_project(self, keys, hyper, grid):
        """The transposed-conv up-scaler and the hypernetwork product, per pixel.

        `keys` is (HW, C) with `hyper` (M, C') for one prompt, giving (M, 4h, 4w); or (B*HW, C) with
        `hyper` (B, M, C') for B prompts, giving (B, M, 4h, 4w). Row r of `keys` is embedding
        pixel (i, j). A 2x2 stride-2 transposed conv maps it to the 4 output pixels (2i+di, 2j+dj),
        so out rows are ordered (i, j, di, dj); the second conv appends (di2, dj2). Only the
        M-channel result is reordered to raster.
        """
        conv1, norm, act1, conv2, act2 = self.sam.mask_decoder.output_upscaling
        x = torch.addmm(conv1.bias.repeat(4), keys, _as_matrix(conv1.weight))
        x = x.view(-1, conv1.out_channels)
        x = act1(F.layer_norm(x, (x.shape[1],), norm.weight, norm.bias, norm.eps))
        x = torch.addmm(conv2.bias.repeat(4), x, _as_matrix(conv2.weight))
        x = act2(x.view(-1, conv2.out_channels))
        h, w = grid
        if hyper.dim() == 2:
            m = x @ hyper.t()
            m = m.view(h, w, 2, 2, 2, 2, -1).permute(6, 0, 2, 4, 1, 3, 5)
            return m.reshape(-1, 4 * h, 4 * w)
        b = hyper.shape[0]
        m = x.view(b, -1, x.shape[1]) @ hyper.transpose(1, 2)
        m = m.view(b, h, w, 2, 2, 2, 2, -1).permute(0, 7, 1, 3, 5, 2, 4, 6)
        return m.reshape(b, -1, 4 * h, 4 * w)


def _as_matrix(weight: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d weight (Cin, Cout, 2, 2) -> (Cin, 4*Cout), columns ordered (di, dj, cout)."""
    return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)


def _two_way_layer(layer: TwoWayAttentionBlock, queries, keys, query_pe, key_pe, first):
    """TwoWayAttentionBlock.forward on (N, C) tensors, reusing precomputed image projections."""
    if layer.skip_first_layer_pe:
        queries = layer.self_attn(q=queries[None], k=queries[None], v=queries[None])[0]
    else:
        q = (queries + query_pe)[None]
        queries = queries + layer.self_attn(q=q, k=q, v=queries[None])[0]
    queries = layer.norm1(queries)

    t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
    q = queries + query_pe
    if first is None:
        kpe = keys + key_pe
        q_img, t2i_out = None, _token_to_image(t2i, q, kpe, keys)
    else:
        (k_img, v_img, q_img), kpe = first, None
        t2i_out = _attend(t2i, _project(t2i.q_proj, q), k_img, v_img)
    queries = layer.norm2(queries + t2i_out)
    queries = layer.norm3(queries + layer.mlp(queries))

    q = queries + query_pe
    keys = layer.norm4(keys + _image_to_token(i2t, q_img, kpe, q, queries))
    return queries, keys


def _batch_token_to_image(attn: Attention, q_in: torch.Tensor, kpe: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """`_token_to_image`'s folded path for B prompts at once: q_in (B, n, C), kpe and keys (B, HW, C)."""
    h, q = attn.num_heads, attn.q_proj(q_in)
    b, n, d = q.shape[0], q.shape[1], q.shape[2] // h
    qk = (q.view(b, n, h, d).transpose(1, 2) @ _heads(attn.k_proj, h)).reshape(b, h * n, -1)
    p = torch.softmax(qk @ kpe.transpose(1, 2) / math.sqrt(d), dim=-1)
    pv = (p @ keys).view(b, h, n, -1) @ _heads(attn.v_proj, h).transpose(1, 2)
    return attn.out_proj(pv.transpose(1, 2).reshape(b, n, -1) + attn.v_proj.bias)


def _batch_image_to_token(attn: Attention, q_t: torch.Tensor | None, kpe: torch.Tensor | None,
                          k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """`_image_to_token`'s folded path for B prompts: k_in, v_in (B, n, C); either the image's shared
    projected queries `q_t` (h, D/h, HW) or the prompts' own kpe (B, HW, C). Returns (B, HW, C)."""
    h, k, v = attn.num_heads, attn.k_proj(k_in), attn.v_proj(v_in)
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
    vw = v.view(b, n, h, d).transpose(1, 2) @ attn.out_proj.weight.view(-1, h, d).permute(1, 2, 0)
    return torch.baddbmm(attn.out_proj.bias, p.view(b, h * n, -1).transpose(1, 2), vw.reshape(b, h * n, -1))


def _batch_two_way_layer(layer: TwoWayAttentionBlock, queries, keys, query_pe, key_pe, first):
    """`_two_way_layer` for B prompts: queries (B, n, C); keys (HW, C) shared in the first layer, else (B, HW, C)."""
    if layer.skip_first_layer_pe:
        queries = layer.self_attn(q=queries, k=queries, v=queries)
    else:
        q = queries + query_pe
        queries = queries + layer.self_attn(q=q, k=q, v=queries)
    queries = layer.norm1(queries)

    t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
    q = queries + query_pe
    if first is None:
        kpe = keys + key_pe
        q_img, t2i_out = None, _batch_token_to_image(t2i, q, kpe, keys)
    else:  # the image's own projections: every prompt's queries attend to them as one stack of rows
        (k_img, v_img, q_img), kpe = first, None
        b, n = q.shape[:2]
        t2i_out = _attend(t2i, t2i.q_proj(q).reshape(b * n, -1), k_img, v_img).view(b, n, -1)
    queries = layer.norm2(queries + t2i_out)
    queries = layer.norm3(queries + layer.mlp(queries))

    q = queries + query_pe
    keys = layer.norm4(keys + _batch_image_to_token(i2t, q_img, kpe, q, queries))
    return queries, keys
