"""Where MoPEFT finds a model family's encoder blocks, how wide each is, and which block class wraps it.

SAM 1 (segment_anything's Sam): ViT blocks in `image_encoder.blocks`, wrapped by MoPEFTBlock. SAM 2.1
(transformers' Sam2Model): Hiera blocks in `vision_encoder.backbone.blocks`, wrapped by MoPEFTHieraBlock, whose
widths change between stages. transformers is imported only when a SAM 2.1 model is wrapped: SAM 1 users do not
pay its import time.
"""
from __future__ import annotations

from torch import nn

from app.mopeft.block import MoPEFTBlock
from app.mopeft.kinds import PEFTKind, Site


def family(model: nn.Module) -> str:
    """"sam2" for SAM 2.1 (transformers' Sam2Model), "sam" for SAM 1."""
    return "sam2" if hasattr(model, "vision_encoder") else "sam"


def variant(model: nn.Module) -> str | None:
    """The registered variant whose shapes the model has ("vit_b", "sam2.1_hiera_t", ...); None for another size."""
    from app.sam.checkpoints import CheckpointError, detect_arch
    from app.sam2.checkpoints import detect_sam2_arch

    detect = detect_sam2_arch if family(model) == "sam2" else detect_arch
    try:
        return detect(model.state_dict())
    except CheckpointError:
        return None


def encoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The image encoder's blocks, in order."""
    return model.vision_encoder.backbone.blocks if family(model) == "sam2" else model.image_encoder.blocks


def block_site(block: nn.Module) -> Site:
    """The widths and heads of one (plain) encoder block, as the PEFT kinds size themselves for it."""
    if hasattr(block.attn, "num_attention_heads"):  # Hiera
        return Site(block.dim, block.dim_out, block.attn.num_attention_heads)
    dim = block.attn.qkv.in_features
    return Site(dim, dim, block.attn.num_heads)


def wrap_block(block: nn.Module, kinds: list[PEFTKind]) -> nn.Module:
    """The MoPEFT block that runs `block` with `kinds`."""
    if hasattr(block.attn, "num_attention_heads"):
        from app.mopeft.hiera_block import MoPEFTHieraBlock

        return MoPEFTHieraBlock(block, kinds)
    return MoPEFTBlock(block, kinds)
