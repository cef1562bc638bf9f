"""Sequential bottleneck adapter after the MLP: m + G_A * up(dropout(GELU(down(m)))).

Called "bottleneck" in code, the window and the docs, so that "adapter" alone always means a saved adapter
version; its registry name stays "adapter", as adapter files, stored settings and `--kinds` have said since v1.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from app.mopeft.kinds.base import KindConfig, PEFTKind, Site, register_kind, size_field, training_field

DROPOUT_FROM = 0.25
"""Fraction of the steps trained before the adapter dropout starts: early on the mixture settles which kind
leads (dropout from the first step sent texture back to LoRA's solution); later the dropout keeps the adapter
from memorising a few images (camouflage in docs/benchmarks-history.md)."""


@dataclass(frozen=True)
class BottleneckConfig(KindConfig):
    """dim: bottleneck width; None means the block's width // 16 (48 on vit_b; per stage in SAM 2's Hiera).
    dropout: dropout probability on the bottleneck after the first `DROPOUT_FROM` of a run's steps (0: none)."""

    dim: int | None = size_field(None)
    dropout: float = training_field(
        0.5, label="Bottleneck dropout", range=(0.0, 0.9), step=0.05, off="off",
        help=f"Drop this share of the bottleneck adapters' units in each step after the first {DROPOUT_FROM:.0%} "
             "of the steps:\nkeeps the adapters from memorising a few images.")

    def __post_init__(self) -> None:
        if self.dim is not None and self.dim < 1:
            raise ValueError(f"adapter_dim must be >= 1, not {self.dim}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"adapter_dropout must be at least 0 and below 1, not {self.dropout}")


@register_kind
class Bottleneck(PEFTKind):
    """Bottleneck (down, GELU, up) on the MLP output; up starts at zero so the block starts unchanged.

    The gate reads the MLP's input (the normalised residual stream), as every gate reads its sub-layer's input.
    `dropout` (0 unless a trainer sets it through `before_step`) drops bottleneck units in training mode only.
    """

    name = "adapter"
    config_class = BottleneckConfig
    label, title = "Bottleneck", "Bottleneck adapter"
    colour = "#43a047"
    sublayer = "mlp"

    def __init__(self, site: Site, config: BottleneckConfig, gate_bias: float = 0.0) -> None:
        super().__init__(site, config, gate_bias)
        width = config.dim or max(1, site.dim // 16)
        self.down = nn.Linear(site.dim, width)
        self.act = nn.GELU()
        self.up = nn.Linear(width, site.dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        self.dropout = 0.0

    def adjust_mlp(self, h: torch.Tensor, m: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        g = gates[:, 0].view(-1, *([1] * (m.dim() - 1)))
        hidden = F.dropout(self.act(self.down(m)), self.dropout, self.training)
        return m + g * self.up(hidden)

    def before_step(self, config: BottleneckConfig, step: int, steps: int) -> None:
        """The dropout starts after the first `DROPOUT_FROM` of the steps."""
        self.dropout = config.dropout if step >= DROPOUT_FROM * steps else 0.0

    def after_training(self) -> None:
        self.dropout = 0.0
