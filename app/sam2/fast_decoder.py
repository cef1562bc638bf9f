"""SAM 2.1's mask decoder (transformers' `Sam2MaskDecoder`) for one image, rearranged to run fast on a CPU.

Same weights and maths, in SAM 1's fast layout (`app.decoder_layout`, docs/engine.md): the image tokens, the
dense positional encoding, the first layer's image-side projections and the two high-resolution maps (in the
up-scaler's scrambled pixel order) are made once per image (`Sam2DecoderImage`); prompts then run the two-way
transformer on (HW, C) rows with the folded cross-attention, and the up-scaler as per-pixel matrix products.

SAM 2's decoder has one more output token (the object score, first) and adds the high-resolution features inside
the up-scaler. In single-mask mode it keeps mask 0 when that mask is stable and falls back to the best of the
three multimask candidates otherwise (`dynamic_multimask_via_stability`): only those two masks are built here.
Results equal transformers' up to float rounding (tests/sam2/test_sam2_fast_decoder.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import Sam2Model

from app.decoder_layout import (DecoderImage, batch_folds, batch_slices, first_layer_projections,
                                run_transformer, run_transformer_batch, scrambled_rows, upscale_and_project)


@dataclass(frozen=True)
class Sam2DecoderImage(DecoderImage):
    """What the decoder needs per image, computed once by `Sam2FastDecoder.prepare`: SAM 1's, and the two
    high-resolution maps."""

    high_res: tuple[torch.Tensor, torch.Tensor]  # s1 and s0 as up-scaler rows (`scrambled_rows`)


def _upscaler(dec: nn.Module) -> tuple[nn.Module, ...]:
    return dec.upscale_conv1, dec.upscale_layer_norm, dec.activation, dec.upscale_conv2, dec.activation


class Sam2FastDecoder:
    """Prompt embeddings + a prepared image -> low-res mask logits and predicted IoUs, as `Sam2MaskDecoder`.

    Reads the model's live weights on every call; only `Sam2DecoderImage` holds derived tensors, so prepare
    images again after the weights change.
    """

    def __init__(self, model: Sam2Model) -> None:
        self.model = model

    @torch.no_grad()
    def prepare(self, features: list[torch.Tensor]) -> Sam2DecoderImage:
        """Per-image work for [s0, s1, image embedding] (`app.sam2.encoder.decoder_features`, batch of one)."""
        s0, s1, embedding = features
        h, w = embedding.shape[-2:]
        tokens = embedding[0].flatten(1).t().contiguous()
        pe = self.model.get_image_wide_positional_embeddings()[0].flatten(1).t().contiguous()
        keys = tokens + self.model.prompt_encoder.no_mask_embed.weight
        first = first_layer_projections(self.model.mask_decoder.transformer.layers[0], keys, pe)
        return Sam2DecoderImage(tokens, pe, (h, w), keys, first, (scrambled_rows(s1[0], 1), scrambled_rows(s0[0], 2)))

    @torch.no_grad()
    def __call__(self, image: Sam2DecoderImage, sparse: torch.Tensor, dense: torch.Tensor | None,
                 multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode one prompt set: `sparse` is the prompt encoder's (N, C) tokens, `dense` its (C, h, w) mask-input
        embedding or None without a mask input. Returns low-res logits (M, 4h, 4w) and scores (M,), M = 3 with
        `multimask` else 1, as `Sam2MaskDecoder.forward` in eval mode."""
        dec = self.model.mask_decoder
        out_tokens = torch.cat([dec.obj_score_token.weight, dec.iou_token.weight, dec.mask_tokens.weight, sparse])
        if dense is None:
            keys, first = image.no_mask_keys, image.first_layer
        else:
            keys = image.tokens + dense.flatten(1).t()
            first = first_layer_projections(dec.transformer.layers[0], keys, image.pe)
        queries, keys = run_transformer(dec.transformer, out_tokens, keys, image.pe, first)
        scores = dec.iou_prediction_head(queries[1])
        chosen = self._chosen(scores, multimask)
        hyper = torch.stack([dec.output_hypernetworks_mlps[i](queries[2 + i]) for i in chosen])
        masks = upscale_and_project(_upscaler(dec), keys, hyper, image.grid, image.high_res)
        if multimask or len(chosen) == 1:
            return masks, scores[chosen]
        keep = 0 if self._stable(masks[0]) else 1
        return masks[keep : keep + 1], scores[chosen[keep] : chosen[keep] + 1]

    @torch.no_grad()
    def decode_batch(self, image: Sam2DecoderImage, sparse: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The three multimask candidates of B prompt sets of the same length at once, without mask input:
        `sparse` (B, N, C) gives logits (B, 3, 4h, 4w) and scores (B, 3), as B calls with `multimask`. The
        prompts share the image's first-layer projections (`app.decoder_layout.run_transformer_batch`), in
        slices near the CPU cache size; a decoder that does not fold runs them one by one."""
        dec = self.model.mask_decoder
        if not batch_folds(dec.transformer, 2 + dec.num_mask_tokens + sparse.shape[1]):
            outs = [self(image, s, None, True) for s in sparse]
            return torch.stack([o[0] for o in outs]), torch.stack([o[1] for o in outs])
        starts = batch_slices(sparse.shape[0], image.tokens.nbytes, sparse.is_cuda)
        outs = [self._decode_folded(image, sparse[i : i + starts.step]) for i in starts]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    def _decode_folded(self, image: Sam2DecoderImage, sparse: torch.Tensor):
        dec = self.model.mask_decoder
        fixed = torch.cat([dec.obj_score_token.weight, dec.iou_token.weight, dec.mask_tokens.weight])
        out_tokens = torch.cat([fixed.expand(sparse.shape[0], -1, -1), sparse], dim=1)
        queries, keys = run_transformer_batch(dec.transformer, out_tokens, image.no_mask_keys, image.pe,
                                              image.first_layer)
        chosen = range(1, dec.num_mask_tokens)
        hyper = torch.stack([dec.output_hypernetworks_mlps[i](queries[:, 2 + i]) for i in chosen], dim=1)
        masks = upscale_and_project(_upscaler(dec), keys.reshape(-1, keys.shape[-1]), hyper, image.grid,
                                    image.high_res)
        return masks, dec.iou_prediction_head(queries[:, 1])[:, 1:]

    def _chosen(self, scores: torch.Tensor, multimask: bool) -> list[int]:
        """The mask tokens to build: 1-3 with `multimask`; else 0, and the best of 1-3 as the fallback when the
        decoder picks by stability."""
        dec = self.model.mask_decoder
        if multimask:
            return list(range(1, dec.num_mask_tokens))
        if dec.dynamic_multimask_via_stability and not dec.training:
            return [0, 1 + int(torch.argmax(scores[1:]))]
        return [0]

    def _stable(self, logits: torch.Tensor) -> bool:
        """`Sam2MaskDecoder._get_stability_scores` of one (S, S) mask against its threshold."""
        dec = self.model.mask_decoder
        delta = dec.dynamic_multimask_stability_delta
        area_i = torch.sum(logits > delta).float()
        area_u = torch.sum(logits > -delta).float()
        score = area_i / area_u if area_u > 0 else torch.tensor(1.0)
        return bool(score >= dec.dynamic_multimask_stability_thresh)
