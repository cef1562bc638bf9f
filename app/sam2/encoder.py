"""SAM 2.1's image encoder in steps: Hiera's tokens, its blocks, and the features the mask decoder reads.

`image_features(model, pixel_values)` is transformers' `Sam2Model.get_image_embeddings` (same operations, same
values) without its no-grad guard, so training can back-propagate through it; the steps let MoPEFT's cached path
(`app.mopeft.cached`) run the frozen first blocks once per image.
"""
from __future__ import annotations

import torch
from transformers import Sam2Model


def hiera_tokens(model: Sam2Model, pixel_values: torch.Tensor) -> torch.Tensor:
    """Patch embedding plus Hiera's windowed positional embedding: (B, H/4, W/4, C) tokens."""
    backbone = model.vision_encoder.backbone
    x = backbone.patch_embed(pixel_values)
    return x + backbone._get_pos_embed(x.shape[1:3])


def run_blocks(model: Sam2Model, x: torch.Tensor, start: int, stop: int,
               stages: list[torch.Tensor]) -> torch.Tensor:
    """Hiera blocks [start, stop) on tokens `x`; the output of each stage's last block is appended to `stages`."""
    backbone = model.vision_encoder.backbone
    for i in range(start, stop):
        x = backbone.blocks[i](x)
        if i in backbone.stage_ends:
            stages.append(x)
    return x


def decoder_features(model: Sam2Model, stages: list[torch.Tensor]) -> list[torch.Tensor]:
    """The FPN neck on the four stage outputs, as the mask decoder reads them: [s0 (B, C/8, 4h, 4w) and s1
    (B, C/4, 2h, 2w), the high-resolution features after the decoder's conv_s0/conv_s1, and the image embedding
    (B, C, h, w) with the no-memory embedding added], h = w = input side / 16."""
    fpn = model.vision_encoder.neck(tuple(stages))[0]
    s0, s1, embedding = fpn[-model.vision_encoder.num_feature_levels:][::-1]
    decoder = model.mask_decoder
    return [decoder.conv_s0(s0), decoder.conv_s1(s1), embedding + model.no_memory_embedding.view(1, -1, 1, 1)]


def image_features(model: Sam2Model, pixel_values: torch.Tensor) -> list[torch.Tensor]:
    """[s0, s1, image embedding] of preprocessed images (B, 3, S, S), as `decoder_features` returns them."""
    stages: list[torch.Tensor] = []
    run_blocks(model, hiera_tokens(model, pixel_values), 0, len(model.vision_encoder.backbone.blocks), stages)
    return decoder_features(model, stages)
