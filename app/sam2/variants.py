"""SAM 2.1 architectures by name: Meta's four Hiera sizes and a small one for tests, built with transformers'
Sam2Model (docs/decisions/0005-sam2-through-transformers.md).

Every model is transformers' own Sam2Model with random weights; `app.sam2.checkpoints` loads Meta's weights into
it. The image predictor needs only the image part (Hiera, FPN neck, prompt encoder, mask decoder): the video
memory modules are not built.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import Sam2Config, Sam2Model


@dataclass(frozen=True)
class Sam2Arch:
    """Shape of a SAM 2.1 model: everything needed to build it with random weights.

    Hiera has four stages; each stage's first block (but the first stage's) halves the token grid by pooling its
    queries and widens the channels, so `dims`, `heads` and `windows` are per stage.
    """

    name: str
    dims: tuple[int, int, int, int]
    heads: tuple[int, int, int, int]
    blocks: tuple[int, int, int, int]
    global_blocks: tuple[int, ...]
    windows: tuple[int, int, int, int] = (8, 4, 14, 7)
    pos_background: tuple[int, int] = (7, 7)
    img_size: int = 1024
    prompt_dim: int = 256
    decoder_mlp_dim: int = 2048
    decoder_heads: int = 8

    @property
    def depth(self) -> int:
        """Number of Hiera blocks."""
        return sum(self.blocks)

    def config(self) -> Sam2Config:
        """The transformers config of this architecture."""
        side = self.img_size // 4
        return Sam2Config(
            vision_config={
                "backbone_config": {
                    "model_type": "sam2_hiera_det_model", "hidden_size": self.dims[0],
                    "image_size": [self.img_size] * 2,
                    "embed_dim_per_stage": list(self.dims), "num_attention_heads_per_stage": list(self.heads),
                    "blocks_per_stage": list(self.blocks), "global_attention_blocks": list(self.global_blocks),
                    "window_size_per_stage": list(self.windows),
                    "window_positional_embedding_background_size": list(self.pos_background)},
                "backbone_channel_list": list(reversed(self.dims)),
                "backbone_feature_sizes": [[side, side], [side // 2, side // 2], [side // 4, side // 4]],
                "fpn_hidden_size": self.prompt_dim,
            },
            prompt_encoder_config={"hidden_size": self.prompt_dim, "image_size": self.img_size, "patch_size": 16},
            mask_decoder_config={"hidden_size": self.prompt_dim, "mlp_dim": self.decoder_mlp_dim,
                                 "num_attention_heads": self.decoder_heads, "iou_head_hidden_dim": self.prompt_dim},
        )


SAM2_ARCHS: dict[str, Sam2Arch] = {
    "sam2.1_hiera_t": Sam2Arch("sam2.1_hiera_t", (96, 192, 384, 768), (1, 2, 4, 8), (1, 2, 7, 2), (5, 7, 9)),
    "sam2.1_hiera_s": Sam2Arch("sam2.1_hiera_s", (96, 192, 384, 768), (1, 2, 4, 8), (1, 2, 11, 2), (7, 10, 13)),
    "sam2.1_hiera_b+": Sam2Arch("sam2.1_hiera_b+", (112, 224, 448, 896), (2, 4, 8, 16), (2, 3, 16, 3),
                                (12, 16, 20), pos_background=(14, 14)),
    "sam2.1_hiera_l": Sam2Arch("sam2.1_hiera_l", (144, 288, 576, 1152), (2, 4, 8, 16), (2, 6, 36, 4),
                               (23, 33, 43), windows=(8, 4, 16, 8)),
    # Unit tests: 128x128 input (32x32 tokens, an 8x8 embedding), every kind of block: windowed with and without
    # padding (windows of 6 on 8x8 tokens), query pooling at each stage change, a global block (3).
    "sam2_tiny": Sam2Arch("sam2_tiny", (16, 32, 64, 128), (1, 2, 4, 8), (1, 1, 2, 1), (3,),
                          windows=(8, 4, 6, 2), pos_background=(4, 4), img_size=128, prompt_dim=32,
                          decoder_mlp_dim=64, decoder_heads=2),
}


def build_sam2(arch: str | Sam2Arch) -> Sam2Model:
    """Build a SAM 2.1 model with random weights for an architecture name or spec, in eval mode, float32.

    Attention runs transformers' eager path (a plain softmax), which MoPEFT's Hiera blocks compute step for step.
    The prompt encoder's random Fourier features are the image's (one module, as in Meta's model, where both are
    `pe_layer`); transformers draws the two independently, which only a checkpoint would make equal.
    """
    a = SAM2_ARCHS[arch] if isinstance(arch, str) else arch
    config = a.config()
    config._attn_implementation = "eager"
    model = Sam2Model(config).eval()
    model.prompt_encoder.shared_embedding = model.shared_image_embedding
    return model.to(torch.float32)
