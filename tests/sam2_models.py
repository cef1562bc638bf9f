"""The random SAM 2.1 model the training tests share."""
from __future__ import annotations

import torch

from app.sam2 import build_sam2


def random_sam2_tiny() -> torch.nn.Module:
    """`sam2_tiny` with every weight moved by N(0, 0.1) noise, the same each call: transformers' init (std 0.02)
    leaves a random decoder's logits near 0 everywhere."""
    torch.manual_seed(0)
    model = build_sam2("sam2_tiny")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model
