"""Meta's SAM 2.1 checkpoint keys -> transformers' Sam2Model keys.

Meta's `.pt` files hold `{"model": state_dict}` of the whole video model (`SAM2Base`). The image predictor needs the
image encoder (`image_encoder.trunk` = Hiera, `image_encoder.neck` = FPN), the prompt encoder, the mask decoder and
`no_mem_embed`; the memory modules are left out. The renames are structural (module names differ, the tensors do
not), except that the four point embeddings (1, C) become rows of one (4, C) table, and the prompt encoder's random
Fourier matrix is also the model's `shared_image_embedding`.
"""
from __future__ import annotations

import re

import torch

VIDEO_ONLY = ("memory_attention.", "memory_encoder.", "maskmem_tpos_enc", "no_mem_pos_enc", "no_obj_ptr",
              "obj_ptr_proj.", "obj_ptr_tpos_proj.", "mask_downsample.", "no_obj_embed_spatial")
"""Prefixes of the video model's tensors (memory, object pointers): not part of the image model."""

_PREFIXES = (("image_encoder.trunk.", "vision_encoder.backbone."), ("image_encoder.neck.", "vision_encoder.neck."),
             ("sam_prompt_encoder.", "prompt_encoder."), ("sam_mask_decoder.", "mask_decoder."),
             ("no_mem_embed", "no_memory_embedding"))

_RULES = [(re.compile(pattern), replacement) for pattern, replacement in (
    # Hiera
    (r"^(vision_encoder\.backbone)\.patch_embed\.proj\.", r"\1.patch_embed.projection."),
    (r"^(vision_encoder\.backbone\.blocks\.\d+)\.norm(\d)\.", r"\1.layer_norm\2."),
    (r"^(vision_encoder\.backbone\.blocks\.\d+\.mlp)\.layers\.0\.", r"\1.proj_in."),
    (r"^(vision_encoder\.backbone\.blocks\.\d+\.mlp)\.layers\.1\.", r"\1.proj_out."),
    (r"^(vision_encoder\.neck\.convs\.\d+)\.conv\.", r"\1."),
    # prompt encoder
    (r"^prompt_encoder\.pe_layer\.positional_encoding_gaussian_matrix$",
     "prompt_encoder.shared_embedding.positional_embedding"),
    (r"^prompt_encoder\.mask_downscaling\.0\.", "prompt_encoder.mask_embed.conv1."),
    (r"^prompt_encoder\.mask_downscaling\.1\.", "prompt_encoder.mask_embed.layer_norm1."),
    (r"^prompt_encoder\.mask_downscaling\.3\.", "prompt_encoder.mask_embed.conv2."),
    (r"^prompt_encoder\.mask_downscaling\.4\.", "prompt_encoder.mask_embed.layer_norm2."),
    (r"^prompt_encoder\.mask_downscaling\.6\.", "prompt_encoder.mask_embed.conv3."),
    # mask decoder: the two-way transformer
    (r"^(mask_decoder\.transformer\..*)\.out_proj\.", r"\1.o_proj."),
    (r"^(mask_decoder\.transformer\.layers\.\d+)\.norm(\d)\.", r"\1.layer_norm\2."),
    (r"^mask_decoder\.transformer\.norm_final_attn\.", "mask_decoder.transformer.layer_norm_final_attn."),
    (r"^(mask_decoder\.transformer\.layers\.\d+\.mlp)\.layers\.0\.", r"\1.proj_in."),
    (r"^(mask_decoder\.transformer\.layers\.\d+\.mlp)\.layers\.1\.", r"\1.proj_out."),
    # mask decoder: the three-layer heads (first and last layers have names of their own)
    (r"^(mask_decoder\.(?:iou_prediction_head|pred_obj_score_head|output_hypernetworks_mlps\.\d+))\.layers\.0\.",
     r"\1.proj_in."),
    (r"^(mask_decoder\.(?:iou_prediction_head|pred_obj_score_head|output_hypernetworks_mlps\.\d+))\.layers\.1\.",
     r"\1.layers.0."),
    (r"^(mask_decoder\.(?:iou_prediction_head|pred_obj_score_head|output_hypernetworks_mlps\.\d+))\.layers\.2\.",
     r"\1.proj_out."),
    (r"^mask_decoder\.output_upscaling\.0\.", "mask_decoder.upscale_conv1."),
    (r"^mask_decoder\.output_upscaling\.1\.", "mask_decoder.upscale_layer_norm."),
    (r"^mask_decoder\.output_upscaling\.3\.", "mask_decoder.upscale_conv2."),
)]

_POINT = re.compile(r"^prompt_encoder\.point_embeddings\.(\d+)\.weight$")


def is_official_layout(state_dict: dict) -> bool:
    """True for a state dict in Meta's layout (it has the Hiera trunk under `image_encoder.trunk.`)."""
    return any(k.startswith("image_encoder.trunk.") for k in state_dict)


def rename(key: str) -> str | None:
    """The transformers name of one of Meta's keys; None for a video-only tensor (and for the point embeddings,
    which `convert_official` stacks)."""
    if key.startswith(VIDEO_ONLY):
        return None
    for old, new in _PREFIXES:
        if key.startswith(old):
            key = new + key[len(old):]
            break
    if _POINT.match(key):
        return None
    for pattern, replacement in _RULES:
        key = pattern.sub(replacement, key)
    return key


def convert_official(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Meta's SAM 2.1 state dict (the `"model"` entry of its `.pt`) as transformers' Sam2Model state dict.

    Video-only tensors are dropped; keys the rules do not know are kept under their (prefix-mapped) names, so the
    loader's key check names them.
    """
    out: dict[str, torch.Tensor] = {}
    points: dict[int, torch.Tensor] = {}
    for key, value in state_dict.items():
        new = rename(key)
        if new is not None:
            out[new] = value
            continue
        found = _POINT.match(key.replace("sam_prompt_encoder.", "prompt_encoder.", 1))
        if found:
            points[int(found.group(1))] = value
    if points:
        out["prompt_encoder.point_embed.weight"] = torch.cat([points[i] for i in sorted(points)], dim=0)
    gaussian = out.get("prompt_encoder.shared_embedding.positional_embedding")
    if gaussian is not None:
        out["shared_image_embedding.positional_embedding"] = gaussian
    return out
