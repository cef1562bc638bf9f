"""MoPEFT-wrapped copies of a model for the tests that compare one with the plain model it came from."""
from __future__ import annotations

import copy

import torch

from app.mopeft import MoPEFTConfig, wrap


def trained_copy(model: torch.nn.Module, config: MoPEFTConfig | None = None) -> torch.nn.Module:
    """A wrapped deep copy of `model` (`config`, default MoPEFTConfig()) whose trainable (PEFT) parameters are each
    moved by N(0, 0.1) noise, as if trained, so it no longer computes what `model` does; `model` is left as it is."""
    wrapped = wrap(copy.deepcopy(model), config or MoPEFTConfig())
    with torch.no_grad():
        for p in wrapped.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
    return wrapped
