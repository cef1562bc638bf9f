"""The random SAM 2.1 model the training tests share."""
from __future__ import annotations

import torch

from app.sam2 import build_sam2


def random_sam2_tiny(seed: int = 0, noise: float = 0.1) -> torch.nn.Module:
    """`sam2_tiny` with every weight moved by N(0, `noise`) noise, the same for one seed: transformers' init (std
    0.02) leaves a random decoder's logits near 0 everywhere, so its masks would have no edges."""
    torch.manual_seed(seed)
    model = build_sam2("sam2_tiny")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * noise)
    return model
