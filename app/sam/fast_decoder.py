"""SAM's mask decoder for one image and one prompt set, rearranged to run fast on a CPU.

Same weights, same maths as `segment_anything.modeling.MaskDecoder`, three changes of layout
(see docs/engine.md for the measurements behind them):

- tokens stay (HW, C) row-major throughout: the positional encoding and the image tokens are
  made contiguous once per image, so no strided adds or permute-copies run per prompt;
- the first two-way layer's image-side projections depend only on the image when no mask
  input is given, so they are computed once per image (`DecoderImage`) and reused per prompt;
- the two stride-2 transposed convolutions of the up-scaler are per-pixel matrix products:
  they, the LayerNorm and the GELUs run on (pixels, channels) rows in a scrambled pixel order,
  and only the final (few) mask channels are put back in raster order. Single-mask mode
  builds one mask instead of four.

Results equal the reference up to float rounding (tests/test_engine_fast_decoder.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.modeling.transformer import Attention, TwoWayAttentionBlock


@dataclass(frozen=True)
class DecoderImage:
    """What the decoder needs per image, computed once by `FastMaskDecoder.prepare`."""

    tokens: torch.Tensor  # (HW, C) image embedding tokens, raster order
    pe: torch.Tensor  # (HW, C) dense positional encoding
    grid: tuple[int, int]  # (h, w) of the embedding
    no_mask_keys: torch.Tensor  # tokens + the no-mask dense embedding
    first_layer: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # layer-0 k, v, q projections


def _attend(attn: Attention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Multi-head attention on already projected (N, D) inputs; returns out_proj of the result."""
    h = attn.num_heads
    qh, kh, vh = (x.view(x.shape[0], h, -1).transpose(0, 1) for x in (q, k, v))
    out = F.scaled_dot_product_attention(qh, kh, vh)
    return attn.out_proj(out.transpose(0, 1).reshape(q.shape[0], -1))


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
        _, c, h, w = embedding.shape
        tokens = embedding[0].flatten(1).t().contiguous()
        pe = pe_enc.get_dense_pe()[0].flatten(1).t().contiguous()
        keys = tokens + pe_enc.no_mask_embed.weight
        return DecoderImage(tokens, pe, (h, w), keys, self._first_layer_projections(keys, pe))

    def _first_layer_projections(self, keys: torch.Tensor, pe: torch.Tensor):
        layer = self.sam.mask_decoder.transformer.layers[0]
        kpe = keys + pe
        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        return t2i.k_proj(kpe), t2i.v_proj(keys), i2t.q_proj(kpe)

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

        chosen = range(1, dec.num_mask_tokens) if multimask else range(0, 1)
        hyper = torch.cat([dec.output_hypernetworks_mlps[i](queries[1 + i : 2 + i]) for i in chosen])
        masks = self._upscale_and_project(keys, hyper, image.grid)
        scores = dec.iou_prediction_head(queries[:1])[0, list(chosen)]
        return masks[None], scores[None]

    def _transformer(self, point_emb, keys, pe, first):
        tr = self.sam.mask_decoder.transformer
        queries = point_emb
        for i, layer in enumerate(tr.layers):
            queries, keys = _two_way_layer(layer, queries, keys, point_emb, pe, first if i == 0 else None)
        q = queries + point_emb
        a = tr.final_attn_token_to_image
        out = _attend(a, a.q_proj(q), a.k_proj(keys + pe), a.v_proj(keys))
        return tr.norm_final_attn(queries + out), keys

    def _upscale_and_project(self, keys, hyper, grid):
        """The transposed-conv up-scaler and the hypernetwork product, per pixel.

        Row r of (HW, C) `keys` is embedding pixel (i, j). A 2x2 stride-2 transposed conv maps
        it to the 4 output pixels (2i+di, 2j+dj), so out rows are ordered (i, j, di, dj); the
        second conv appends (di2, dj2). Only the M-channel result is reordered to raster.
        """
        conv1, norm, act1, conv2, act2 = self.sam.mask_decoder.output_upscaling
        x = keys @ _as_matrix(conv1.weight) + conv1.bias.repeat(4)
        x = x.view(-1, conv1.out_channels)
        x = act1(F.layer_norm(x, (x.shape[1],), norm.weight, norm.bias, norm.eps))
        x = x @ _as_matrix(conv2.weight) + conv2.bias.repeat(4)
        x = act2(x.view(-1, conv2.out_channels))
        m = x @ hyper.t()
        h, w = grid
        m = m.view(h, w, 2, 2, 2, 2, -1).permute(6, 0, 2, 4, 1, 3, 5)
        return m.reshape(-1, 4 * h, 4 * w)


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
    if first is None:
        kpe = keys + key_pe
        k_img, v_img, q_img = t2i.k_proj(kpe), t2i.v_proj(keys), i2t.q_proj(kpe)
    else:
        k_img, v_img, q_img = first
    q = queries + query_pe
    queries = layer.norm2(queries + _attend(t2i, t2i.q_proj(q), k_img, v_img))
    queries = layer.norm3(queries + layer.mlp(queries))

    q = queries + query_pe
    keys = layer.norm4(keys + _attend(i2t, q_img, i2t.k_proj(q), i2t.v_proj(queries)))
    return queries, keys
