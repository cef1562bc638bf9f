"""Gated LoRA on the q and v projections of the mask decoder's attention layers (not in the default mixture)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from segment_anything.modeling.transformer import Attention
from torch import nn
from torch.nn import functional as F

from app.mopeft.gate import Gate
from app.mopeft.kinds.base import KindConfig, ModelKind, register_kind, size_field
from app.mopeft.kinds.lora import LowRank


@dataclass(frozen=True)
class DecoderLoRAConfig(KindConfig):
    """rank: rank r of the LoRA updates on the decoder's q and v projections."""

    rank: int = size_field(8)

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"decoder_lora_rank must be >= 1, not {self.rank}")


@register_kind
class GatedLoRAUpdate(ModelKind):
    """The trainable part of one projection: a zero-initialised low-rank update and its gate."""

    name = "decoder_lora"
    config_class = DecoderLoRAConfig
    label, title = "Decoder LoRA", "LoRA in the mask decoder"
    colour = "#00897b"
    offered = False

    def __init__(self, dim_in: int, dim_out: int, rank: int, gate_bias: float = 0.0) -> None:
        super().__init__()
        self.update = LowRank(dim_in, dim_out, rank)
        self.gate = Gate(dim_in, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.gate(x).view(-1, *([1] * (x.dim() - 1)))
        return g * self.update(x)

    @classmethod
    def insert(cls, sam: nn.Module, config: DecoderLoRAConfig, gate_bias: float) -> None:
        """Give every decoder Attention's q_proj and v_proj a gated LoRA; a ValueError for a decoder without
        segment_anything's attention layers (SAM 2.1's, not supported yet)."""
        layers = [m for m in sam.mask_decoder.modules() if isinstance(m, Attention)]
        if not layers:
            raise ValueError("decoder_lora needs SAM 1's mask decoder; it is not available for this model")
        for module in layers:
            module.q_proj = GatedLoRALinear(module.q_proj, config.rank, gate_bias)
            module.v_proj = GatedLoRALinear(module.v_proj, config.rank, gate_bias)

    @staticmethod
    def gate_row(path: str) -> str:
        """'mask_decoder.<attention>.q_proj.peft' -> 'decoder.<attention>': q and v share their layer's row."""
        return "decoder." + path.removeprefix("mask_decoder.").rsplit(".", 2)[0]


class GatedLoRALinear(nn.Linear):
    """A Linear that shares the base layer's weight and bias (same state-dict keys) plus `peft`."""

    def __init__(self, base: nn.Linear, rank: int, gate_bias: float = 0.0) -> None:
        nn.Module.__init__(self)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.weight, self.bias = base.weight, base.bias
        self.peft = GatedLoRAUpdate(base.in_features, base.out_features, rank, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + self.peft(x)
