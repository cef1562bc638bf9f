"""MoPEFTBlock: SAM's encoder block with hook points for the PEFT kinds.

The block re-uses the wrapped block's own norm1/attn/norm2/mlp modules under the same attribute names, so
the base weights keep their state-dict keys and a SAM checkpoint loads into a wrapped model unchanged.
"""
from __future__ import annotations

import torch
from segment_anything.modeling.image_encoder import Block, window_partition, window_unpartition
from torch import nn

from app.mopeft.kinds import PEFTKind
from app.sam.attention import attention_probabilities, merge_heads, split_heads


class PEFTBlock(nn.Module):
    """Base of the encoder blocks `wrap` puts in place of a model's own (SAM 1's MoPEFTBlock, SAM 2.1's
    MoPEFTHieraBlock); their kinds are in `self.peft`."""


class MoPEFTBlock(PEFTBlock):
    """An encoder block whose attention and MLP are adjusted by gated PEFT kinds (`self.peft`)."""

    def __init__(self, block: Block, kinds: list[PEFTKind]) -> None:
        super().__init__()
        self.norm1 = block.norm1
        self.attn = block.attn
        self.norm2 = block.norm2
        self.mlp = block.mlp
        self.window_size = block.window_size
        self.peft = nn.ModuleDict({k.name: k for k in kinds})

    def _gates(self, sublayer: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: k.gate(x) for name, k in self.peft.items() if k.sublayer == sublayer}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        gates = self._gates("attn", x)
        if self.window_size > 0:
            H, W = x.shape[1], x.shape[2]
            x, pad_hw = window_partition(x, self.window_size)
            per_image = x.shape[0] // shortcut.shape[0]
            gates = {name: g.repeat_interleave(per_image, dim=0) for name, g in gates.items()}
        x = self._attention(x, gates)
        if self.window_size > 0:
            x = window_unpartition(x, self.window_size, pad_hw, (H, W))
        x = shortcut + x

        h = self.norm2(x)
        m = self.mlp(h)
        for name, g in self._gates("mlp", h).items():
            m = self.peft[name].adjust_mlp(h, m, g)
        return x + m

    def _attention(self, x: torch.Tensor, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        """SAM's Attention.forward, step for step (probabilities computed in place), with the kinds' hooks."""
        attn = self.attn
        B, H, W, _ = x.shape
        qkv = attn.qkv(x)
        for name, g in gates.items():
            qkv = self.peft[name].adjust_qkv(x, qkv, g)
        q, k, v = split_heads(qkv, attn.num_heads)

        rel_pos = (attn.rel_pos_h, attn.rel_pos_w) if attn.use_rel_pos else None
        out = attention_probabilities(q, k, attn.scale, rel_pos, (H, W)) @ v
        for name, g in gates.items():
            out = self.peft[name].adjust_attention(q, out, g)
        return attn.proj(merge_heads(out, B, (H, W)))
