"""MoPEFTConfig: which PEFT kinds go into which encoder blocks, and their sizes."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

KNOWN_KINDS = ("lora", "prefix", "adapter")


@dataclass
class MoPEFTConfig:
    """Configuration of a MoPEFT wrap; round-trips through JSON.

    kinds: PEFT kinds to insert, a subset of the registered kinds ("lora", "prefix", "adapter").
    blocks: "all", "last:N", or an explicit list of encoder block indices.
    lora_rank: rank r of the LoRA updates on q and v.
    prefix_length: number L of learned key/value vectors per block.
    adapter_dim: bottleneck width of the adapters; None means embed_dim // 16 (48 on vit_b).
    decoder_lora: also put (gated) LoRA on the q and v projections of the mask decoder's attention layers.
    gate_bias: initial bias of every gate's linear layer: gates start near sigmoid(gate_bias) (0: about 0.5).
    """

    kinds: list[str] = field(default_factory=lambda: list(KNOWN_KINDS))
    blocks: str | list[int] = "all"
    lora_rank: int = 8
    prefix_length: int = 10
    adapter_dim: int | None = None
    decoder_lora: bool = False
    gate_bias: float = 0.0

    def __post_init__(self) -> None:
        from app.mopeft.kinds import KIND_REGISTRY

        self.kinds = list(self.kinds)
        unknown = [k for k in self.kinds if k not in KIND_REGISTRY]
        if unknown:
            raise ValueError(f"unknown PEFT kind(s) {unknown}; known: {sorted(KIND_REGISTRY)}")
        if not self.kinds and not self.decoder_lora:
            raise ValueError("a MoPEFT config needs at least one PEFT kind")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"PEFT kinds listed twice: {self.kinds}")
        if isinstance(self.blocks, str):
            if self.blocks != "all" and not _is_last_n(self.blocks):
                raise ValueError(f"blocks must be 'all', 'last:N' or a list of indices, not {self.blocks!r}")
        else:
            self.blocks = sorted({int(i) for i in self.blocks})
        for name in ("lora_rank", "prefix_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.adapter_dim is not None and self.adapter_dim < 1:
            raise ValueError("adapter_dim must be >= 1")

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

    def to_json(self) -> str:
        """The config as a JSON string."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "MoPEFTConfig":
        """Parse a config written by `to_json`; unknown keys are an error."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        extra = set(data) - known
        if extra:
            raise ValueError(f"unknown MoPEFT config keys: {sorted(extra)}")
        return cls(**data)


def _is_last_n(text: str) -> bool:
    head, _, n = text.partition(":")
    return head == "last" and n.isdigit() and int(n) >= 1
