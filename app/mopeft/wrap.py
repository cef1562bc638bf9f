"""wrap(sam, config): put gated PEFT modules into SAM (1 or 2.1) in place and freeze everything else."""
from __future__ import annotations

from dataclasses import dataclass

from segment_anything.modeling import Sam

from app.mopeft.config import MoPEFTConfig
from app.mopeft.families import block_site, encoder_blocks, wrap_block
from app.mopeft.kinds import KIND_REGISTRY
from app.mopeft.state import peft_parameter_names


@dataclass(frozen=True)
class WrapInfo:
    """What a wrapped model remembers about its wrap: the config and the wrapped encoder blocks."""

    config: MoPEFTConfig
    block_indices: tuple[int, ...]


def wrap(sam: Sam, config: MoPEFTConfig | None = None) -> Sam:
    """Insert the configured PEFT kinds into `sam` in place, freeze every base parameter, return `sam`.

    The wrapped model computes exactly what the plain one did until its PEFT parameters are trained.
    Wrapping twice is refused.
    """
    if wrap_info(sam) is not None:
        raise ValueError("this SAM model is already wrapped with MoPEFT")
    config = config or MoPEFTConfig()
    blocks = encoder_blocks(sam)
    in_blocks = config.encoder_kinds()
    indices = config.block_indices(len(blocks)) if in_blocks else []
    device = next(blocks[0].parameters()).device
    for i in indices:
        site = block_site(blocks[i])
        kinds = [KIND_REGISTRY[name](site, c, config.gate_bias) for name, c in in_blocks.items()]
        blocks[i] = wrap_block(blocks[i], kinds)
    for name, kind_config in config.kinds.items():
        if name not in in_blocks:
            KIND_REGISTRY[name].insert(sam, kind_config, config.gate_bias)
    sam.to(device)  # the new modules were made on the default device
    peft = peft_parameter_names(sam)
    for name, param in sam.named_parameters():
        param.requires_grad_(name in peft)
    sam._mopeft = WrapInfo(config, tuple(indices))
    return sam


def wrap_info(sam: Sam) -> WrapInfo | None:
    """The WrapInfo of a wrapped model, None for a plain SAM."""
    return getattr(sam, "_mopeft", None)
