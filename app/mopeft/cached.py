"""Run the image encoder in two halves, so the frozen first blocks are computed once per image.

With blocks="last:N" the first depth-N blocks carry no PEFT module and never change during training:
their output can be cached, and each training step only runs (and back-propagates through) the last N.
SAM 2.1's neck reads every Hiera stage's output, so its cached half also holds the outputs of the stages that
end among the frozen blocks.
"""
from __future__ import annotations

import torch
from torch import nn

from app.mopeft.block import PEFTBlock
from app.mopeft.families import encoder_blocks, family


def frozen_prefix_length(sam: nn.Module) -> int:
    """Number of leading encoder blocks with no PEFT module (all blocks for an unwrapped model)."""
    blocks = encoder_blocks(sam)
    for i, block in enumerate(blocks):
        if isinstance(block, PEFTBlock):
            return i
    return len(blocks)


def encode_until(sam: nn.Module, images: torch.Tensor, stop: int):
    """Patch embedding, positional embedding and blocks [0, stop) on preprocessed images (B, 3, S, S).

    Returns what `encode_from(sam, cached, stop)` takes: SAM 1's intermediate tokens (B, H, W, C); for SAM 2.1 a
    pair (tokens, outputs of the stages ended so far).
    """
    if family(sam) == "sam2":
        from app.sam2.encoder import hiera_tokens, run_blocks

        stages: list[torch.Tensor] = []
        return run_blocks(sam, hiera_tokens(sam, images), 0, stop, stages), tuple(stages)
    encoder = sam.image_encoder
    x = encoder.patch_embed(images)
    if encoder.pos_embed is not None:
        x = x + encoder.pos_embed
    for block in encoder.blocks[:stop]:
        x = block(x)
    return x


def encode_from(sam: nn.Module, cached, start: int):
    """Blocks [start, depth) and the neck on what `encode_until` returned: SAM 1's image embeddings (B, C', H, W);
    SAM 2.1's [s0, s1, image embedding] (`app.sam2.encoder.decoder_features`)."""
    if family(sam) == "sam2":
        from app.sam2.encoder import decoder_features, run_blocks

        tokens, done = cached
        stages = list(done)
        run_blocks(sam, tokens, start, len(encoder_blocks(sam)), stages)
        return decoder_features(sam, stages)
    encoder = sam.image_encoder
    x = cached
    for block in encoder.blocks[start:]:
        x = block(x)
    return encoder.neck(x.permute(0, 3, 1, 2))
