"""MoPEFTConfig: which PEFT kinds go into SAM, with each kind's own config, and which encoder blocks get them."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from app.mopeft.kinds import KIND_REGISTRY, KindConfig, PEFTKind

BASE_KEYS = ("kinds", "blocks", "gate_bias")
"""The keys of a config's flat form that are not a kind's "<kind>_<field>"."""


def mixture() -> list[str]:
    """The registered kinds of the full MoPEFT mixture (the default), in registration order."""
    return [name for name, cls in KIND_REGISTRY.items() if cls.in_mixture]


@dataclass(eq=False)
class MoPEFTConfig:
    """Configuration of a MoPEFT wrap; round-trips through JSON.

    kinds: the chosen PEFT kinds, in order, each with its config (`KIND_REGISTRY[name].config_class`); a
        list of names gives each its default config. Default: the mixture of LoRA, Prefix and the bottleneck adapter.
    blocks: "all", "last:N", or an explicit list of encoder block indices (for the kinds that go into encoder
        blocks).
    gate_bias: initial bias of every gate's linear layer: gates start near sigmoid(gate_bias) (0: about 0.5).

    Two configs are equal when they make the same model: the same kinds in the same order with the same
    shapes, blocks and gate bias (training-only options such as the adapter dropout do not count).
    """

    kinds: dict[str, KindConfig] | list[str] = field(default_factory=mixture)
    blocks: str | list[int] = "all"
    gate_bias: float = 0.0

    def __post_init__(self) -> None:
        names = list(self.kinds)
        unknown = [k for k in names if k not in KIND_REGISTRY]
        if unknown:
            raise ValueError(f"unknown PEFT kind(s) {unknown}; known: {sorted(KIND_REGISTRY)}")
        if not names:
            raise ValueError("a MoPEFT config needs at least one PEFT kind")
        if len(set(names)) != len(names):
            raise ValueError(f"PEFT kinds listed twice: {names}")
        given = self.kinds if isinstance(self.kinds, dict) else {}
        self.kinds = {name: given.get(name) or KIND_REGISTRY[name].config_class() for name in names}
        for name, config in self.kinds.items():
            if not isinstance(config, KIND_REGISTRY[name].config_class):
                raise ValueError(f"the config of PEFT kind {name!r} must be a "
                                 f"{KIND_REGISTRY[name].config_class.__name__}, not {type(config).__name__}")
        if isinstance(self.blocks, str):
            if self.blocks != "all" and not _is_last_n(self.blocks):
                raise ValueError(f"blocks must be 'all', 'last:N' or a list of indices, not {self.blocks!r}")
        else:
            self.blocks = sorted({int(i) for i in self.blocks})

    def __eq__(self, other) -> bool:
        if not isinstance(other, MoPEFTConfig):
            return NotImplemented
        return (list(self.kinds.items()), self.blocks, self.gate_bias) == \
            (list(other.kinds.items()), other.blocks, other.gate_bias)

    def encoder_kinds(self) -> dict[str, KindConfig]:
        """The chosen kinds that go into encoder blocks, with their configs."""
        return {name: c for name, c in self.kinds.items() if issubclass(KIND_REGISTRY[name], PEFTKind)}

    def block_indices(self, depth: int) -> list[int]:
        """The encoder block indices this config wraps, for an encoder with `depth` blocks."""
        if self.blocks == "all":
            return list(range(depth))
        if isinstance(self.blocks, str):
            n = int(self.blocks.split(":", 1)[1])
            if not 1 <= n <= depth:
                raise ValueError(f"blocks={self.blocks!r} but the encoder has {depth} blocks")
            return list(range(depth - n, depth))
        bad = [i for i in self.blocks if not 0 <= i < depth]
        if bad:
            raise ValueError(f"block indices {bad} out of range for an encoder with {depth} blocks")
        return list(self.blocks)

    def to_dict(self, training: bool = True) -> dict:
        """Flat plain-JSON form: kinds (names), blocks, gate_bias and every chosen kind's "<kind>_<field>";
        without `training`, only what shapes the model (what adapter files hold)."""
        data = {"kinds": list(self.kinds), "blocks": self.blocks, "gate_bias": self.gate_bias}
        for name, config in self.kinds.items():
            for f in dataclasses.fields(config):
                if training or not f.metadata.get("training"):
                    data[f"{name}_{f.name}"] = getattr(config, f.name)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "MoPEFTConfig":
        """Read the flat form of `to_dict` (any missing value takes its default). Keys of registered kinds
        that are not chosen are ignored; other unknown keys are an error. Also reads the form adapter files
        had before the kinds owned their configs (a `decoder_lora` flag; the decoder used `lora_rank`)."""
        data = dict(data)
        names = list(data.pop("kinds", mixture()))
        if len(set(names)) != len(names):
            raise ValueError(f"PEFT kinds listed twice: {names}")
        legacy_decoder = data.pop("decoder_lora", None)
        if legacy_decoder is not None and not isinstance(legacy_decoder, bool):
            raise ValueError(f"decoder_lora must be true or false, not {legacy_decoder!r}")
        if legacy_decoder and "decoder_lora" not in names:
            names.append("decoder_lora")
            data.setdefault("decoder_lora_rank", data.get("lora_rank", 8))
        base = {k: data.pop(k) for k in BASE_KEYS[1:] if k in data}
        per_kind: dict[str, dict] = {name: {} for name in names}
        extra = []
        for key, value in data.items():
            kind, option = _split_key(key)
            if kind is None:
                extra.append(key)
            elif kind in per_kind:
                per_kind[kind][option] = value
        if extra:
            raise ValueError(f"unknown MoPEFT config keys: {sorted(extra)}")
        unknown = [k for k in names if k not in KIND_REGISTRY]
        if unknown:
            raise ValueError(f"unknown PEFT kind(s) {unknown}; known: {sorted(KIND_REGISTRY)}")
        kinds = {name: KIND_REGISTRY[name].config_class(**options) for name, options in per_kind.items()}
        return cls(kinds=kinds, **base)

    def to_json(self) -> str:
        """The config as a JSON string (only what shapes the model)."""
        return json.dumps(self.to_dict(training=False), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "MoPEFTConfig":
        """Parse a config written by `to_json` (or by the adapter files of earlier versions)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a MoPEFT config must be a JSON object")
        return cls.from_dict(data)


def _split_key(key: str) -> tuple[str | None, str]:
    """'decoder_lora_rank' -> ('decoder_lora', 'rank'): the registered kind whose field the key names."""
    for name, kind in sorted(KIND_REGISTRY.items(), key=lambda item: -len(item[0])):
        option = key.removeprefix(f"{name}_")
        if option != key and option in {f.name for f in dataclasses.fields(kind.config_class)}:
            return name, option
    return None, key


def _is_last_n(text: str) -> bool:
    head, _, n = text.partition(":")
    return head == "last" and n.isdigit() and int(n) >= 1
