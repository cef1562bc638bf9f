"""Run the image encoder in two halves, so the frozen first blocks are computed once per image.

With blocks="last:N" the first depth-N blocks carry no PEFT module and never change during training:
their output can be cached, and each training step only runs (and back-propagates through) the last N.
"""
from __future__ import annotations

import torch
from segment_anything.modeling import Sam

from app.mopeft.block import MoPEFTBlock


def frozen_prefix_length(sam: Sam) -> int:
    """Number of leading encoder blocks with no PEFT module (all blocks for an unwrapped model)."""
    for i, block in enumerate(sam.image_encoder.blocks):
        if isinstance(block, MoPEFTBlock):
            return i
    return len(sam.image_encoder.blocks)


def encode_until(sam: Sam, images: torch.Tensor, stop: int) -> torch.Tensor:
    """Patch embedding, positional embedding and blocks [0, stop) on preprocessed images (B, 3, S, S).

    Returns the intermediate tokens (B, H, W, C) to feed to `encode_from(sam, tokens, stop)`.
    """
    encoder = sam.image_encoder
    x = encoder.patch_embed(images)
    if encoder.pos_embed is not None:
        x = x + encoder.pos_embed
    for block in encoder.blocks[:stop]:
        x = block(x)
    return x


def encode_from(sam: Sam, tokens: torch.Tensor, start: int) -> torch.Tensor:
    """Blocks [start, depth) and the neck on intermediate tokens: the image embeddings (B, C', H, W)."""
    encoder = sam.image_encoder
    x = tokens
    for block in encoder.blocks[start:]:
        x = block(x)
    return encoder.neck(x.permute(0, 3, 1, 2))
