"""Optional gated LoRA on the q and v projections of the mask decoder's attention layers."""
from __future__ import annotations

import torch
from segment_anything.modeling.transformer import Attention
from torch import nn
from torch.nn import functional as F

from app.mopeft.gate import Gate
from app.mopeft.kinds.base import PEFTModule
from app.mopeft.kinds.lora import LowRank


class GatedLoRAUpdate(PEFTModule):
    """The trainable part: a zero-initialised low-rank update and its gate."""

    def __init__(self, dim_in: int, dim_out: int, rank: int) -> None:
        super().__init__()
        self.update = LowRank(dim_in, dim_out, rank)
        self.gate = Gate(dim_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.gate(x).view(-1, *([1] * (x.dim() - 1)))
        return g * self.update(x)


class GatedLoRALinear(nn.Linear):
    """A Linear that shares the base layer's weight and bias (same state-dict keys) plus `peft`."""

    def __init__(self, base: nn.Linear, rank: int) -> None:
        nn.Module.__init__(self)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.weight, self.bias = base.weight, base.bias
        self.peft = GatedLoRAUpdate(base.in_features, base.out_features, rank)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + self.peft(x)


def wrap_decoder(mask_decoder: nn.Module, rank: int) -> list[str]:
    """Give every decoder Attention's q_proj and v_proj a gated LoRA; returns the wrapped module names."""
    names = []
    for name, module in mask_decoder.named_modules():
        if isinstance(module, Attention):
            module.q_proj = GatedLoRALinear(module.q_proj, rank)
            module.v_proj = GatedLoRALinear(module.v_proj, rank)
            names.append(name)
    return names
