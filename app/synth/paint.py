"""Painting helpers shared by the scene generators: colours kept apart, textured fills, camera noise."""
from __future__ import annotations

import cv2
import numpy as np


def distinct_colour(rng: np.random.Generator, avoid: list[tuple[np.ndarray, float]], low: float = 0.0,
                    high: float = 255.0, tries: int = 60) -> np.ndarray:
    """A random RGB colour (float, in [low, high]) at least the given distance from each avoided colour.

    `avoid` holds (colour, min_distance) pairs. After `tries` draws the farthest candidate is taken.
    """
    best, best_margin = None, -np.inf
    for _ in range(tries):
        colour = rng.uniform(low, high, 3)
        margin = min((np.linalg.norm(colour - c) - d for c, d in avoid), default=0.0)
        if margin >= 0:
            return colour
        if margin > best_margin:
            best, best_margin = colour, margin
    return best


def linear_ramp(rng: np.random.Generator, size: int, amplitude: float) -> np.ndarray:
    """An H x W ramp from -amplitude/2 to +amplitude/2 in a random direction (uneven lighting)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    a = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(a) * (x - 0.5) + np.sin(a) * (y - 0.5)
    return (amplitude * ramp / max(float(np.abs(ramp).max()), 1e-6) / 2).astype(np.float32)


def textured_fill(colour: np.ndarray, field: np.ndarray, amplitude: float) -> np.ndarray:
    """H x W x 3 float surface: `colour` plus `amplitude` times the (H x W) texture field on every channel."""
    return colour[None, None, :].astype(np.float32) + amplitude * field[..., None]


def camera(image: np.ndarray, rng: np.random.Generator, blur: float, noise: float) -> np.ndarray:
    """Optical blur (Gaussian, sigma `blur` px; 0 for none) and sensor noise (sigma `noise`), to uint8."""
    out = image.astype(np.float32)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if noise > 0:
        out = out + rng.normal(0, noise, out.shape).astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
