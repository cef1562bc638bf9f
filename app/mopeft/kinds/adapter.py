"""Sequential bottleneck adapter after the MLP: m + G_A * up(dropout(GELU(down(m))))."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from app.mopeft.kinds.base import PEFTKind, register_kind


@register_kind
class Adapter(PEFTKind):
    """Bottleneck (down, GELU, up) on the MLP output; up starts at zero so the block starts unchanged.

    The gate reads the MLP's input (the normalised residual stream), as every gate reads its sub-layer's input.
    `dropout` (0 unless a trainer sets it, see `set_adapter_dropout`) drops bottleneck units in training mode only.
    """

    name = "adapter"
    sublayer = "mlp"

    def __init__(self, dim: int, num_heads: int, config) -> None:
        super().__init__(dim, num_heads, config)
        width = config.adapter_dim or max(1, dim // 16)
        self.down = nn.Linear(dim, width)
        self.act = nn.GELU()
        self.up = nn.Linear(width, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        self.dropout = 0.0

    def adjust_mlp(self, h: torch.Tensor, m: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        g = gates[:, 0].view(-1, *([1] * (m.dim() - 1)))
        hidden = F.dropout(self.act(self.down(m)), self.dropout, self.training)
        return m + g * self.up(hidden)


def set_adapter_dropout(model: nn.Module, p: float) -> None:
    """Set the bottleneck dropout probability of every adapter in `model` (it acts in training mode only)."""
    for module in model.modules():
        if isinstance(module, Adapter):
            module.dropout = p
