"""A fast fingerprint of a model's base (non-PEFT) weights, to tell which SAM an adapter belongs to."""
from __future__ import annotations

import hashlib

import torch
from torch import nn

from app.mopeft.state import peft_parameter_names

SAMPLES_PER_TENSOR = 4096


def base_weight_fingerprint(model: nn.Module) -> str:
    """sha256 over every base tensor's name, shape, dtype and an evenly spaced sample of its values.

    PEFT parameters are excluded, so a wrapped model and the plain model it came from agree. Sampling keeps
    this under a second for vit_h while any realistic change of weights (another checkpoint, fine-tuning of
    the base) changes the fingerprint.
    """
    skip = peft_parameter_names(model)
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if name in skip:
            continue
        flat = tensor.detach().reshape(-1)
        step = max(1, flat.numel() // SAMPLES_PER_TENSOR)
        sample = flat[::step][:SAMPLES_PER_TENSOR].to(device="cpu", dtype=torch.float64)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(sample.numpy().tobytes())
    return digest.hexdigest()
