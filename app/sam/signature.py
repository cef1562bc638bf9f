"""Signatures that key the embedding cache: image content, model weights, and the two combined.

A cached embedding is valid only for the exact pixels the encoder saw, the exact weights it ran
with (an adapter's tensors included) and the same input size and precision; each of these goes
into the key, so a change of any of them reads as a cache miss. See docs/engine.md.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch

CACHE_FORMAT = 1
"""Bumped when the stored embedding layout changes, so older files are never read as current ones."""

_BITS = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def image_signature(rgb: np.ndarray) -> str:
    """Hash of an image's pixels (shape, dtype and every byte); 32 hex characters."""
    arr = np.ascontiguousarray(rgb)
    h = hashlib.blake2b(f"{arr.shape}|{arr.dtype}|".encode(), digest_size=16)
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def model_signature(model: torch.nn.Module, samples: int = 64) -> str:
    """Fingerprint of every parameter and buffer in `model.state_dict()`; 32 hex characters.

    Per tensor: its name, dtype and shape, an exact integer sum of its bit patterns (any change to
    any element moves it, and it does not depend on thread count or summation order) and up to
    `samples` evenly spaced elements. Costs one read of the weights (about 70 ms for ViT-B on CPU).
    """
    h = hashlib.blake2b(digest_size=16)
    for name, tensor in model.state_dict().items():
        t = tensor.detach()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel() == 0:
            continue
        bits = t.contiguous().view(-1).view(_BITS[t.element_size()])
        h.update(str(int(bits.sum(dtype=torch.int64))).encode())
        h.update(bits[:: max(1, bits.numel() // samples)].cpu().numpy().tobytes())
    return h.hexdigest()


def embedding_key(image_sig: str, model_sig: str, img_size: int, precision: str) -> str:
    """Cache key for one image under one model at one encoder input size and precision."""
    text = f"v{CACHE_FORMAT}|{image_sig}|{model_sig}|{img_size}|{precision}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
