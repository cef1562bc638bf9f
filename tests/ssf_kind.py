"""A test-only fourth PEFT kind, all in this file: SSF-style scale and shift of the MLP output.

m -> m * (1 + G * gamma) + G * shift_scale * beta, gamma and beta per channel and zero at first, so the block
starts unchanged. Registering it (`register_kind(SSF)`, see tests/test_mopeft_fourth_kind.py) is all it takes
to train it with `mopeft train --kinds`, choose it in the training form, see it in the gate heatmap and save
and load it in adapter files.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from app.mopeft.kinds.base import KindConfig, PEFTKind, Site, size_field


@dataclass(frozen=True)
class SSFConfig(KindConfig):
    """shift_scale: factor on the learned shift."""

    shift_scale: float = size_field(1.0, label="SSF shift scale", help="Factor on the learned shift.",
                                    range=(0.0, 10.0), step=0.5)

    def __post_init__(self) -> None:
        if self.shift_scale < 0:
            raise ValueError(f"ssf_shift_scale must be >= 0, not {self.shift_scale}")


class SSF(PEFTKind):
    """Gated per-channel scale and shift of the MLP output."""

    name = "ssf"
    config_class = SSFConfig
    label, title = "SSF", "Scale and shift"
    colour = "#6d4c41"
    sublayer = "mlp"
    in_mixture = False

    def __init__(self, site: Site, config: SSFConfig, gate_bias: float = 0.0) -> None:
        super().__init__(site, config, gate_bias)
        self.gamma = nn.Parameter(torch.zeros(site.dim))
        self.beta = nn.Parameter(torch.zeros(site.dim))
        self.shift_scale = config.shift_scale

    def adjust_mlp(self, h: torch.Tensor, m: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        g = gates[:, 0].view(-1, *([1] * (m.dim() - 1)))
        return m * (1 + g * self.gamma) + g * self.shift_scale * self.beta
