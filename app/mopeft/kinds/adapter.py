"""Sequential bottleneck adapter after the MLP: m + G_A * up(GELU(down(m)))."""
from __future__ import annotations

import torch
from torch import nn

from app.mopeft.kinds.base import PEFTKind, register_kind


@register_kind
class Adapter(PEFTKind):
    """Bottleneck (down, GELU, up) on the MLP output; up starts at zero so the block starts unchanged.

    The gate reads the MLP's input (the normalised residual stream), as every gate reads its sub-layer's input.
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

    def adjust_mlp(self, h: torch.Tensor, m: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        g = gates[:, 0].view(-1, *([1] * (m.dim() - 1)))
        return m + g * self.up(self.act(self.down(m)))
