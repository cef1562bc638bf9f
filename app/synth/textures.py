"""Zero-mean texture fields (H x W float32, standard deviation about 1) to paint surfaces with.

A field is added to a base colour with an amplitude, so two surfaces with the same base colour
differ only in texture; `gradient_signature` measures how two fields differ.
"""
from __future__ import annotations

import cv2
import numpy as np

KINDS = ("noise", "stripes", "checker", "dots")


def _normalised(field: np.ndarray) -> np.ndarray:
    field = field - field.mean()
    return (field / max(float(field.std()), 1e-6)).astype(np.float32)


def _axes(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates rotated by a random angle: (along, across)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    a = rng.uniform(0, np.pi)
    return x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)


def smooth_noise(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """White noise blurred with a Gaussian of `scale` pixels: a mottled, natural-looking field."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    return _normalised(cv2.GaussianBlur(noise, (0, 0), scale) if scale > 0 else noise)


def texture_field(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """A random field of one `kind` (noise, stripes, checker, dots) with random scale and orientation."""
    if kind == "noise":
        return smooth_noise(rng, size, rng.uniform(0.6, 3.0))
    u, v = _axes(rng, size)
    period = rng.uniform(5.0, 16.0)
    phase = rng.uniform(0, 2 * np.pi)
    if kind == "stripes":
        return _normalised(np.sin(2 * np.pi * u / period + phase))
    if kind == "checker":
        return _normalised(np.sign(np.sin(2 * np.pi * u / period + phase) * np.sin(2 * np.pi * v / period)))
    if kind == "dots":
        cu = (u / period + phase) % 1.0 - 0.5
        cv = (v / period) % 1.0 - 0.5
        return _normalised((cu ** 2 + cv ** 2 < rng.uniform(0.04, 0.1)).astype(np.float32))
    raise ValueError(f"unknown texture kind {kind!r}; known: {', '.join(KINDS)}")


def gradient_signature(field: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean absolute differences along x, y and both diagonals, over `mask` (bool, same H x W) or all.

    Two textures with the same mean colour differ in this signature when they differ in scale or
    orientation; a flat surface gives zeros.
    """
    f = field.astype(np.float32)
    if f.ndim == 3:
        f = f.mean(axis=2)
    diffs = (np.abs(f[1:-1, 2:] - f[1:-1, :-2]), np.abs(f[2:, 1:-1] - f[:-2, 1:-1]),
             np.abs(f[2:, 2:] - f[:-2, :-2]), np.abs(f[2:, :-2] - f[:-2, 2:]))
    inner = np.ones(f.shape, bool) if mask is None else mask
    inner = inner[1:-1, 1:-1]
    return np.array([d[inner].mean() if inner.any() else 0.0 for d in diffs], np.float32)
