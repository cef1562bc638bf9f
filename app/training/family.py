"""The part of training that differs between SAM families, behind one interface chosen by the model's family
(`app.mopeft.families.family`): SAM 1 in `sam_family`, SAM 2.1 in `sam2_family`. Everything else (the simulated
sessions, the losses, the run loop, the cached path's bookkeeping) is shared.

transformers is imported only when a SAM 2.1 model asks for its family.
"""
from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from app.metrics.dataset import EvalImage
from app.mopeft.families import family
from app.training import sam_family
from app.training.prompts import Prompts


class TrainingFamily(Protocol):
    """What training needs of one family (each is a module with these functions)."""

    def input_side(self, model: nn.Module) -> int:
        """Side of the square the encoder reads."""

    def input_frame(self, model: nn.Module, example: EvalImage) -> tuple[torch.Tensor, torch.Tensor]:
        """The preprocessed image (1, 3, S, S) on the model's device and the masks (P, S, S) bool in its frame,
        as annotation preprocesses the image."""

    def cache(self, model: nn.Module, image: torch.Tensor, start: int):
        """What the loop keeps per image: the frozen blocks' output in float32, or the image when start is 0."""

    def features(self, model: nn.Module, cached: list, start: int):
        """The decoder's image features of a batch of `cache` results (SAM 1: one embedding, SAM 2.1: [s0, s1,
        embedding])."""

    def decode_prompts(self, model: nn.Module, features, owners: torch.Tensor, prompts: Prompts,
                       mask_input: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 4, h, w) low-res logits of every mask output and (N, 4) IoU predictions; row n prompts image
        `owners[n]`, `mask_input` (N, 1, h, w) is the previous logits (None at the first prompt)."""


def training_family(model: nn.Module) -> TrainingFamily:
    """The training part of `model`'s family."""
    if family(model) == "sam2":
        from app.training import sam2_family

        return sam2_family
    return sam_family
