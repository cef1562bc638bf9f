"""SAM's mask decoder for one image and one prompt set, rearranged to run fast on a CPU.

Same weights, same maths as `segment_anything.modeling.MaskDecoder`, in the layout of `app.decoder_layout`
(shared with SAM 2.1's fast decoder; docs/engine.md has the measurements behind it):

- tokens stay (HW, C) row-major throughout: the positional encoding and the image tokens are
  made contiguous once per image, so no strided adds or permute-copies run per prompt;
- the first two-way layer's image-side projections depend only on the image when no mask
  input is given, so they are computed once per image (`DecoderImage`) and reused per prompt;
- the two stride-2 transposed convolutions of the up-scaler are per-pixel matrix products;
  single-mask mode builds one mask instead of four;
- attention between the few prompt tokens and the 4,096 image tokens multiplies the prompt
  side by the projection weights instead of projecting every image token.

Results equal the reference up to float rounding (tests/sam/test_engine_fast_decoder.py).
"""
from __future__ import annotations

import torch
from segment_anything.modeling import Sam

from app.decoder_layout import (DecoderImage, batch_folds, batch_slices, first_layer_projections, run_transformer,
                                run_transformer_batch, upscale_and_project)


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
        first = first_layer_projections(self.sam.mask_decoder.transformer.layers[0], keys, pe)
        return DecoderImage(tokens, pe, (h, w), keys, first)

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
            first = first_layer_projections(dec.transformer.layers[0], keys, image.pe)
        queries, keys = run_transformer(dec.transformer, out_tokens, keys, image.pe, first)

        chosen = range(1, dec.num_mask_tokens) if multimask else range(1)
        hyper = torch.cat([dec.output_hypernetworks_mlps[i](queries[1 + i : 2 + i]) for i in chosen])
        masks = upscale_and_project(dec.output_upscaling, keys, hyper, image.grid)
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
        tensors stay near the cache size (`app.decoder_layout.batch_slices`): one prompt at a time for ViT-B
        (4 MiB of image tokens each), 32 for the demo model.
        """
        dec = self.sam.mask_decoder
        if not batch_folds(dec.transformer, 1 + dec.num_mask_tokens + sparse.shape[1]):
            outs = [self(image, s[None], None, multimask) for s in sparse]
        else:
            starts = batch_slices(sparse.shape[0], image.tokens.nbytes, sparse.is_cuda)
            outs = [self._decode_folded(image, sparse[i : i + starts.step], multimask) for i in starts]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    def _decode_folded(self, image: DecoderImage, sparse: torch.Tensor, multimask: bool):
        dec = self.sam.mask_decoder
        fixed = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight])
        out_tokens = torch.cat([fixed.expand(sparse.shape[0], -1, -1), sparse], dim=1)
        queries, keys = run_transformer_batch(dec.transformer, out_tokens, image.no_mask_keys, image.pe,
                                              image.first_layer)
        chosen = range(1, dec.num_mask_tokens) if multimask else range(1)
        hyper = torch.stack([dec.output_hypernetworks_mlps[i](queries[:, 1 + i]) for i in chosen], dim=1)
        masks = upscale_and_project(dec.output_upscaling, keys.reshape(-1, keys.shape[-1]), hyper, image.grid)
        scores = dec.iou_prediction_head(queries[:, 0])[:, list(chosen)]
        return masks, scores
