"""LoRA on the q and v parts of the fused qkv projection, each with its own gate (UniPELT)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from app.mopeft.kinds.base import KindConfig, PEFTKind, PEFTModule, Site, register_kind, size_field


@dataclass(frozen=True)
class LoRAConfig(KindConfig):
    """rank: rank r of the LoRA updates on q and v."""

    rank: int = size_field(8, label="LoRA rank", help="Rank r of the LoRA updates on q and v.", range=(1, 256))

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"lora_rank must be >= 1, not {self.rank}")


class LowRank(PEFTModule):
    """x -> B(A(x)) with A random and B zero, so the update starts at exactly zero."""

    def __init__(self, dim_in: int, dim_out: int, rank: int) -> None:
        super().__init__()
        self.A = nn.Parameter(torch.empty(rank, dim_in))
        self.B = nn.Parameter(torch.zeros(dim_out, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.A.t()) @ self.B.t()


@register_kind
class LoRA(PEFTKind):
    """q += G_q * B_q A_q x and v += G_v * B_v A_v x; the gates replace LoRA's alpha/r scaling."""

    name = "lora"
    config_class = LoRAConfig
    label = title = "LoRA"
    colour = "#1e88e5"
    sublayer = "attn"
    gate_names = ("q", "v")

    def __init__(self, site: Site, config: LoRAConfig, gate_bias: float = 0.0) -> None:
        super().__init__(site, config, gate_bias)
        self.q = LowRank(site.in_dim, site.dim, config.rank)
        self.v = LowRank(site.in_dim, site.dim, config.rank)

    def adjust_qkv(self, x: torch.Tensor, qkv: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        q, k, v = qkv.split(self.dim, dim=-1)
        gq = gates[:, 0].view(-1, *([1] * (x.dim() - 1)))
        gv = gates[:, 1].view(-1, *([1] * (x.dim() - 1)))
        return torch.cat((q + gq * self.q(x), k, v + gv * self.v(x)), dim=-1)
