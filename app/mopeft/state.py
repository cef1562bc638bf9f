"""Find the PEFT parts of a wrapped model: their parameters, their gates, their counts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from torch import nn

from app.mopeft.kinds import PEFTModule


def peft_kinds(model: nn.Module):
    """(path, module) of every PEFT kind's module in a wrapped model, in model order: each PEFTModule that is
    not inside another (one per kind and encoder block, or per place a kind was inserted); `module.name` is
    its kind."""
    seen: list[str] = []
    for name, module in model.named_modules():
        if isinstance(module, PEFTModule) and not any(name.startswith(p + ".") for p in seen):
            seen.append(name)
            yield name, module


def peft_parameter_names(model: nn.Module) -> set[str]:
    """Full state-dict names of every PEFT parameter (empty for an unwrapped model)."""
    return {
        f"{name}.{pname}" for name, module in peft_kinds(model) for pname, _ in module.named_parameters()
    }


def peft_state_dict(model: nn.Module) -> dict:
    """Only the PEFT tensors of a wrapped model, by full state-dict name."""
    names = peft_parameter_names(model)
    return {k: v for k, v in model.state_dict().items() if k in names}


@dataclass(frozen=True)
class ParameterCount:
    """Trainable parameter counts per PEFT kind, and the model's total."""

    per_kind: dict[str, int]
    trainable: int
    total: int

    @property
    def share(self) -> float:
        """Trainable parameters as a fraction of all parameters."""
        return self.trainable / self.total if self.total else 0.0


def trainable_parameters(model: nn.Module) -> ParameterCount:
    """Count the parameters that require grad, per PEFT kind."""
    per_kind: dict[str, int] = {}
    for _, module in peft_kinds(model):
        n = sum(p.numel() for p in module.parameters() if p.requires_grad)
        per_kind[module.name] = per_kind.get(module.name, 0) + n
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return ParameterCount(per_kind, trainable, total)


def gate_values(model: nn.Module) -> dict[str, dict[str, float]]:
    """Gate values of the last forward pass: {row: {kind: mean gate}}, batch- and token-averaged.

    Encoder blocks are rows "blocks.<i>"; a kind placed elsewhere names its rows (the decoder LoRA: its
    attention layers as "decoder.<module path>"). Rows not run yet are left out.
    """
    gates: dict[str, dict[str, list[float]]] = {}
    for path, module in peft_kinds(model):
        value = module.last_gate_value()
        if value is not None:
            gates.setdefault(module.gate_row(path), {}).setdefault(module.name, []).append(value)
    return {row: {kind: sum(v) / len(v) for kind, v in kinds.items()} for row, kinds in gates.items()}


def gate_matrix(gates: dict[str, dict[str, float]]) -> tuple[list[str], list[str], np.ndarray]:
    """Blocks (in model order), kinds (in first-seen order) and a blocks x kinds array; NaN where a kind is absent."""
    blocks = sorted(gates, key=_block_order)
    kinds: list[str] = []
    for block in blocks:
        kinds += [k for k in gates[block] if k not in kinds]
    values = np.full((len(blocks), len(kinds)), np.nan)
    for i, block in enumerate(blocks):
        for j, kind in enumerate(kinds):
            values[i, j] = gates[block].get(kind, np.nan)
    return blocks, kinds, values


def _block_order(name: str) -> tuple[int, int, str]:
    """Encoder blocks by index, then decoder layers by name."""
    if name.startswith("blocks."):
        return 0, int(name.split(".")[1]), name
    return 1, 0, name
