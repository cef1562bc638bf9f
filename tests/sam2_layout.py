"""Meta's SAM 2.1 checkpoint layout, written out for tests: the fixture's names and shapes, and any transformers
Sam2Model state dict renamed back to Meta's keys (a table written apart from app.sam2.convert's rules)."""
from __future__ import annotations

import ast
import re

import torch

from fixture_paths import SAM2_OFFICIAL_KEYS

VIDEO_EXTRAS = {"memory_attention.layers.0.self_attn.q_proj.weight": (256, 256), "maskmem_tpos_enc": (7, 1, 1, 64),
                "no_mem_pos_enc": (1, 1, 256), "obj_ptr_proj.layers.0.weight": (256, 256), "no_obj_ptr": (1, 256)}
"""A few of the video model's tensors, which a converted checkpoint must drop."""

_HEAD = r"(mask_decoder\.(?:iou_prediction_head|pred_obj_score_head|output_hypernetworks_mlps\.\d+))"
_BACK = [  # transformers name -> Meta's, applied in order
    (r"^vision_encoder\.backbone\.patch_embed\.projection\.", "image_encoder.trunk.patch_embed.proj."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.layer_norm(\d)\.", r"image_encoder.trunk.blocks.\1.norm\2."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.mlp\.proj_in\.", r"image_encoder.trunk.blocks.\1.mlp.layers.0."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.mlp\.proj_out\.", r"image_encoder.trunk.blocks.\1.mlp.layers.1."),
    (r"^vision_encoder\.backbone\.", "image_encoder.trunk."),
    (r"^vision_encoder\.neck\.convs\.(\d+)\.", r"image_encoder.neck.convs.\1.conv."),
    (r"^prompt_encoder\.shared_embedding\.positional_embedding$",
     "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
    (r"^prompt_encoder\.mask_embed\.conv1\.", "sam_prompt_encoder.mask_downscaling.0."),
    (r"^prompt_encoder\.mask_embed\.layer_norm1\.", "sam_prompt_encoder.mask_downscaling.1."),
    (r"^prompt_encoder\.mask_embed\.conv2\.", "sam_prompt_encoder.mask_downscaling.3."),
    (r"^prompt_encoder\.mask_embed\.layer_norm2\.", "sam_prompt_encoder.mask_downscaling.4."),
    (r"^prompt_encoder\.mask_embed\.conv3\.", "sam_prompt_encoder.mask_downscaling.6."),
    (r"^prompt_encoder\.", "sam_prompt_encoder."),
    (r"\.o_proj\.", ".out_proj."),
    (r"^(mask_decoder\.transformer\.layers\.\d+)\.layer_norm(\d)\.", r"\1.norm\2."),
    (r"\.layer_norm_final_attn\.", ".norm_final_attn."),
    (r"^(mask_decoder\.transformer\.layers\.\d+\.mlp)\.proj_in\.", r"\1.layers.0."),
    (r"^(mask_decoder\.transformer\.layers\.\d+\.mlp)\.proj_out\.", r"\1.layers.1."),
    (_HEAD + r"\.layers\.0\.", r"\1.layers.1."),
    (_HEAD + r"\.proj_in\.", r"\1.layers.0."),
    (_HEAD + r"\.proj_out\.", r"\1.layers.2."),
    (r"^mask_decoder\.upscale_conv1\.", "mask_decoder.output_upscaling.0."),
    (r"^mask_decoder\.upscale_layer_norm\.", "mask_decoder.output_upscaling.1."),
    (r"^mask_decoder\.upscale_conv2\.", "mask_decoder.output_upscaling.3."),
    (r"^mask_decoder\.", "sam_mask_decoder."),
    (r"^no_memory_embedding$", "no_mem_embed"),
]


def official_shapes() -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in Meta's Hiera-T checkpoint (the fixture)."""
    rows = (line.split(" ", 1) for line in SAM2_OFFICIAL_KEYS.read_text().splitlines() if line.strip())
    return {name: tuple(ast.literal_eval(shape)) for name, shape in rows}


def random_official(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random float32 tensors of the given names and shapes."""
    g = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=g) * 0.1 for name, shape in shapes.items()}


def to_official(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transformers Sam2Model state dict in Meta's layout, with a few video tensors added as Meta's files have."""
    out = {}
    for key, value in state.items():
        if key == "shared_image_embedding.positional_embedding":
            continue
        if key == "prompt_encoder.point_embed.weight":
            out.update({f"sam_prompt_encoder.point_embeddings.{i}.weight": row[None].clone()
                        for i, row in enumerate(value)})
            continue
        for pattern, replacement in _BACK:
            key = re.sub(pattern, replacement, key)
        out[key] = value
    out.update(random_official(VIDEO_EXTRAS, seed=1))
    return out
