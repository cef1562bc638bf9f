"""Prefix tuning: L learned key/value vectors per block, attended to beside the spatial keys.

SAM's attention adds a decomposed relative-position bias that assumes the keys are exactly the h*w spatial
tokens, and a plain prefix changes the softmax even when its values are zero. So the prefix gets its own
softmax (no positional bias) and its output is added with a zero-initialised per-head scale, as in
LLaMA-Adapter's zero-init attention: out = softmax(qK^T + rel)V + G_P * s_h * softmax(qK_p^T) V_p.
With s = 0 the block is exactly SAM's; the same prefixes serve every window.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from app.mopeft.kinds.base import KindConfig, PEFTKind, Site, register_kind, size_field


@dataclass(frozen=True)
class PrefixConfig(KindConfig):
    """length: number L of learned key/value vectors per block."""

    length: int = size_field(10, label="Prefix length", help="Learned key/value vectors per block.",
                             range=(1, 256))

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"prefix_length must be >= 1, not {self.length}")


@register_kind
class Prefix(PEFTKind):
    """Learned prefix keys/values with a zero-initialised per-head output scale and a UniPELT gate."""

    name = "prefix"
    config_class = PrefixConfig
    label, title = "Prefix", "Prefix tuning"
    colour = "#fb8c00"
    sublayer = "attn"

    def __init__(self, site: Site, config: PrefixConfig, gate_bias: float = 0.0) -> None:
        super().__init__(site, config, gate_bias)
        self.keys = nn.Parameter(torch.randn(config.length, site.dim))
        self.values = nn.Parameter(torch.randn(config.length, site.dim))
        self.scale = nn.Parameter(torch.zeros(site.dim))

    def adjust_attention(self, q: torch.Tensor, out: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        heads = self.num_heads
        bh, n, head_dim = q.shape
        b = bh // heads
        keys = self.keys.view(-1, heads, head_dim).transpose(0, 1)  # (heads, L, hd)
        values = self.values.view(-1, heads, head_dim).transpose(0, 1)
        logits = (q.view(b, heads, n, head_dim) * head_dim**-0.5) @ keys.transpose(-2, -1)
        extra = logits.softmax(dim=-1) @ values  # (b, heads, n, hd)
        weight = gates[:, 0].view(b, 1, 1, 1) * self.scale.view(1, heads, 1, head_dim)
        return out + (weight * extra).view(bh, n, head_dim)
