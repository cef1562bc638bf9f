"""SAM architectures by name: the official ViT-B/L/H and the project's small configs.

Every model is built from segment_anything's own classes, so a small config is a real SAM
(same encoder, prompt encoder, mask decoder), just narrower and at a lower input size.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from app.sam.attention import use_in_place_attention
from app.sam.encoder import use_float32_neck


@dataclass(frozen=True)
class SamArch:
    """Shape of a SAM model: everything needed to build it with random weights."""

    name: str
    img_size: int
    embed_dim: int
    depth: int
    num_heads: int
    global_attn_indexes: tuple[int, ...]
    window_size: int
    prompt_dim: int = 256
    decoder_mlp_dim: int = 2048
    decoder_heads: int = 8
    patch_size: int = 16

    @property
    def embedding_size(self) -> int:
        """Side of the image embedding grid (tokens per row)."""
        return self.img_size // self.patch_size


ARCHS: dict[str, SamArch] = {
    "vit_b": SamArch("vit_b", 1024, 768, 12, 12, (2, 5, 8, 11), 14),
    "vit_l": SamArch("vit_l", 1024, 1024, 24, 16, (5, 11, 17, 23), 14),
    "vit_h": SamArch("vit_h", 1024, 1280, 32, 16, (7, 15, 23, 31), 14),
    # The shipped offline demo model: 256x256 input, 16x16 tokens, windows of 6 (padded to 18).
    "demo": SamArch("demo", 256, 192, 6, 6, (2, 5), 6, prompt_dim=128, decoder_mlp_dim=512, decoder_heads=4),
    # Unit tests: 128x128 input, 8x8 tokens, windows of 3 (padded to 9); runs in milliseconds.
    "tiny": SamArch("tiny", 128, 64, 4, 4, (1, 3), 3, prompt_dim=32, decoder_mlp_dim=64, decoder_heads=2),
}


def build_sam(arch: str | SamArch) -> Sam:
    """Build a SAM model with random weights for an architecture name or spec, in eval mode.

    Its encoder attention computes probabilities in place (`app.sam.attention`): same maths, less memory traffic;
    its softmax and neck run in float32 under any autocast (`app.sam.encoder`).
    """
    a = ARCHS[arch] if isinstance(arch, str) else arch
    emb = a.embedding_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=a.depth,
            embed_dim=a.embed_dim,
            img_size=a.img_size,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=a.num_heads,
            patch_size=a.patch_size,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=a.global_attn_indexes,
            window_size=a.window_size,
            out_chans=a.prompt_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=a.prompt_dim,
            image_embedding_size=(emb, emb),
            input_image_size=(a.img_size, a.img_size),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=2, embedding_dim=a.prompt_dim, mlp_dim=a.decoder_mlp_dim, num_heads=a.decoder_heads
            ),
            transformer_dim=a.prompt_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=a.prompt_dim,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return use_float32_neck(use_in_place_attention(sam)).eval()
