"""What every PEFT kind shares: its config, its gates, its hooks into SAM, and the registry.

A kind is one file in this package: a `KindConfig` dataclass with its sizes (and its training-only options),
the module class, and `register_kind`. Everything else (MoPEFTConfig, adapter files, the trainer's settings
and learning-rate groups, `mopeft train --kinds`, the training form, the gate heatmap) reads the registry.
"""
from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

import torch
from torch import nn

from app.mopeft.gate import Gate

KIND_REGISTRY: dict[str, type["PEFTModule"]] = {}


def register_kind(cls: type["PEFTModule"]) -> type["PEFTModule"]:
    """Class decorator: make a PEFT kind available to MoPEFTConfig.kinds under `cls.name`."""
    if not (dataclasses.is_dataclass(cls.config_class) and issubclass(cls.config_class, KindConfig)):
        raise TypeError(f"PEFT kind {cls.name!r}: config_class must be a KindConfig dataclass")
    KIND_REGISTRY[cls.name] = cls
    return cls


@dataclasses.dataclass(frozen=True)
class KindConfig:
    """A kind's own settings. Its fields are written as "<kind>_<field>" (lora_rank) in adapter files, in
    the trainer's stored settings and in the form's fields; field metadata says how:

    "training": True for an option that changes how the kind trains, not its shape (e.g. the adapter's
        dropout): it is not written into adapter files and does not make two configs differ (compare=False).
    "label", "help", "range", "step", "off": a row of the training form ("off": text shown at the minimum).
    A field without "label" is not in the form. A subclass's __post_init__ refuses values out of range with a
    ValueError naming "<kind>_<field>".
    """


def size_field(default, **metadata):
    """A field that sets a kind's shape (saved in adapter files)."""
    return dataclasses.field(default=default, metadata=metadata)


def training_field(default, **metadata):
    """A field that sets how a kind trains (not saved in adapter files, ignored when configs are compared)."""
    return dataclasses.field(default=default, compare=False, metadata={**metadata, "training": True})


class PEFTModule(nn.Module):
    """Base class of the PEFT kinds: every parameter below a PEFTModule is a PEFT (trainable, saved) parameter.

    A registered kind (`register_kind`) also names itself and says how it is offered:
    name: the key in MoPEFTConfig.kinds, `--kinds`, adapter files and the gate heatmap's columns;
    config_class: its KindConfig; label/title: short and long names ("Prefix", "Prefix tuning");
    colour: its colour in plots; in_mixture: part of the full MoPEFT mixture (the default);
    offered: a training choice of its own in the form and the benchmarks ("<title> only").
    """

    name: ClassVar[str]
    config_class: ClassVar[type[KindConfig]] = KindConfig
    label: ClassVar[str] = ""
    title: ClassVar[str] = ""
    colour: ClassVar[str] = "#8e24aa"
    in_mixture: ClassVar[bool] = False
    offered: ClassVar[bool] = True

    def last_gate_value(self) -> float | None:
        """Mean of this module's gates over the last forward pass (None before any forward)."""
        values = [m.last_value for m in self.modules() if isinstance(m, Gate) and m.last_value is not None]
        return sum(values) / len(values) if values else None

    @staticmethod
    def gate_row(path: str) -> str:
        """The gate heatmap's row for this kind's module at `path` (its name in the model)."""
        raise NotImplementedError

    def before_step(self, config: KindConfig, step: int, steps: int) -> None:
        """Called by a trainer before each (0-based) `step` of `steps` with the run's config of this kind."""

    def after_training(self) -> None:
        """Called by a trainer when the run ends: undo what `before_step` changed."""


@dataclasses.dataclass(frozen=True)
class Site:
    """The encoder block a kind sits in, as a kind sizes itself for it.

    in_dim: width of the block's input, which the attention's qkv projection and the "attn" gates read;
    dim: width of q, k, v, the attention output, the MLP and the "mlp" gates' input;
    num_heads: attention heads (head width dim // num_heads).
    The two widths are equal in SAM 1's ViT; in Hiera (SAM 2) the first block of a stage widens the channels.
    """

    in_dim: int
    dim: int
    num_heads: int


class PEFTKind(PEFTModule):
    """One PEFT kind inside one encoder block (wrapped by MoPEFTBlock or, in SAM 2's Hiera, MoPEFTHieraBlock).

    A kind owns one gate per entry of `gate_names`, all fed by the input of its sub-layer (`sublayer` is
    "attn": the normalised block input, or "mlp": the normalised input of the MLP). The block calls the
    hooks below; a kind overrides the ones it needs. Every hook must return its input unchanged when the
    kind's own parameters are at their initial values (exact identity at initialisation). `site` gives the
    widths (`self.in_dim`, `self.dim`) and `self.num_heads`.
    """

    sublayer: ClassVar[str]
    gate_names: ClassVar[tuple[str, ...]] = ("gate",)
    in_mixture: ClassVar[bool] = True

    def __init__(self, site: Site, config: KindConfig, gate_bias: float = 0.0) -> None:
        super().__init__()
        self.in_dim, self.dim, self.num_heads = site.in_dim, site.dim, site.num_heads
        width = site.in_dim if self.sublayer == "attn" else site.dim
        self.gates = nn.ModuleList(Gate(width, gate_bias) for _ in self.gate_names)

    @staticmethod
    def gate_row(path: str) -> str:
        """'image_encoder.blocks.<i>.peft.<kind>' (or SAM 2's 'vision_encoder.backbone.blocks.<i>...') ->
        'blocks.<i>'."""
        return re.search(r"(?:^|\.)(blocks\.\d+)\.", path).group(1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Gate values for a sub-layer input x (B, H, W, C): shape (B, len(gate_names))."""
        return torch.stack([g(x) for g in self.gates], dim=1)

    def adjust_qkv(self, x: torch.Tensor, qkv: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Modify the fused qkv projection output (B, H, W, 3·dim) of attention input x (B, H, W, in_dim)."""
        return qkv

    def adjust_attention(self, q: torch.Tensor, out: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Modify the per-head attention output out (B*heads, N, head_dim) given the scale-free queries q (after
        Hiera's query pooling, where a block pools them)."""
        return out

    def adjust_mlp(self, h: torch.Tensor, m: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Modify the MLP output m (B, H, W, C) of the MLP input h."""
        return m


class ModelKind(PEFTModule):
    """A PEFT kind that puts its modules elsewhere in SAM than the encoder blocks (e.g. the mask decoder)."""

    @classmethod
    def insert(cls, sam: nn.Module, config: KindConfig, gate_bias: float) -> None:
        """Put this kind's modules into `sam` in place."""
        raise NotImplementedError
