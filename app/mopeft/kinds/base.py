"""What every PEFT kind shares: its gates, its hooks into an encoder block, and the registry."""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from app.mopeft.gate import Gate

KIND_REGISTRY: dict[str, type["PEFTKind"]] = {}


def register_kind(cls: type["PEFTKind"]) -> type["PEFTKind"]:
    """Class decorator: make a PEFT kind available to MoPEFTConfig.kinds under `cls.name`."""
    KIND_REGISTRY[cls.name] = cls
    return cls


class PEFTModule(nn.Module):
    """Marker base class: every parameter below a PEFTModule is a PEFT (trainable, saved) parameter."""


class PEFTKind(PEFTModule):
    """One PEFT kind inside one encoder block.

    A kind owns one gate per entry of `gate_names`, all fed by the input of its sub-layer (`sublayer` is
    "attn": the normalised block input, or "mlp": the normalised input of the MLP). The block calls the
    hooks below; a kind overrides the ones it needs. Every hook must return its input unchanged when the
    kind's own parameters are at their initial values (exact identity at initialisation).
    """

    name: ClassVar[str]
    sublayer: ClassVar[str]
    gate_names: ClassVar[tuple[str, ...]] = ("gate",)

    def __init__(self, dim: int, num_heads: int, config) -> None:
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.gates = nn.ModuleList(Gate(dim, config.gate_bias) for _ in self.gate_names)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Gate values for a sub-layer input x (B, H, W, C): shape (B, len(gate_names))."""
        return torch.stack([g(x) for g in self.gates], dim=1)

    def last_gate_value(self) -> float | None:
        """Mean of this kind's gates over the last forward pass (None before any forward)."""
        values = [g.last_value for g in self.gates if g.last_value is not None]
        return sum(values) / len(values) if values else None

    def adjust_qkv(self, x: torch.Tensor, qkv: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Modify the fused qkv projection output (B, H, W, 3C) of attention input x (B, H, W, C)."""
        return qkv

    def adjust_attention(self, q: torch.Tensor, out: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Modify the per-head attention output out (B*heads, N, head_dim) given the scaled-free queries q."""
        return out

    def adjust_mlp(self, h: torch.Tensor, m: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Modify the MLP output m (B, H, W, C) of the MLP input h."""
        return m
