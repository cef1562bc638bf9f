"""LoRA on the q and v parts of the fused qkv projection, each with its own gate (UniPELT)."""
from __future__ import annotations

import math

import torch
from torch import nn

from app.mopeft.kinds.base import PEFTKind, PEFTModule, register_kind


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
    sublayer = "attn"
    gate_names = ("q", "v")

    def __init__(self, dim: int, num_heads: int, config) -> None:
        super().__init__(dim, num_heads, config)
        self.q = LowRank(dim, dim, config.lora_rank)
        self.v = LowRank(dim, dim, config.lora_rank)

    def adjust_qkv(self, x: torch.Tensor, qkv: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        q, k, v = qkv.split(self.dim, dim=-1)
        gq = gates[:, 0].view(-1, *([1] * (x.dim() - 1)))
        gv = gates[:, 1].view(-1, *([1] * (x.dim() - 1)))
        return torch.cat((q + gq * self.q(x), k, v + gv * self.v(x)), dim=-1)
