"""The kinds' training hooks, called by a trainer around its steps (e.g. the adapter's dropout schedule)."""
from __future__ import annotations

from torch import nn

from app.mopeft.config import MoPEFTConfig
from app.mopeft.state import peft_kinds


def before_step(model: nn.Module, config: MoPEFTConfig, step: int, steps: int) -> None:
    """Tell every PEFT module of a wrapped `model` that (0-based) `step` of `steps` comes next; each gets its
    kind's config from `config` (the run's, with its training options), or its default when `config` lacks it."""
    for _, module in peft_kinds(model):
        module.before_step(config.kinds.get(module.name) or type(module).config_class(), step, steps)


def after_training(model: nn.Module) -> None:
    """Tell every PEFT module of a wrapped `model` that training ended."""
    for _, module in peft_kinds(model):
        module.after_training()
