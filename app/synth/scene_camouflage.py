"""Out-of-domain generator `camouflage`: objects whose colour and texture are close to the background's."""
from __future__ import annotations

import cv2
import numpy as np

from app.synth.layout import place_shapes, visible_parts
from app.synth.paint import camera, textured_fill
from app.synth.textures import smooth_noise


def _mottle(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Two octaves of smooth noise: a natural, mottled field around `scale` pixels."""
    return smooth_noise(rng, size, scale) + 0.5 * smooth_noise(rng, size, 3 * scale)


def render_camouflage(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """One scene of 1-5 low-contrast objects on a mottled background: image and visible-part masks.

    An object's mean colour is 12-28 RGB units from the background's, its mottle has a similar
    amplitude and a scale within a factor of two; its edge is feathered over about a pixel.
    """
    base = rng.uniform(40, 200, 3)
    scale = rng.uniform(1.5, 4.0)
    tint = rng.uniform(0.7, 1.0, 3)
    canvas = base + rng.uniform(10, 18) * _mottle(rng, size, scale)[..., None] * tint
    shapes = place_shapes(rng, size, int(rng.integers(1, 6)), radius=(0.08 * size, 0.22 * size), min_area=120)
    for shape in shapes:
        step = rng.normal(0, 1, 3)
        colour = base + rng.uniform(12, 28) * step / np.linalg.norm(step)
        surface = textured_fill(colour, _mottle(rng, size, scale * rng.uniform(0.5, 2.0)), rng.uniform(10, 18))
        alpha = cv2.GaussianBlur(shape.astype(np.float32), (0, 0), 0.8)[..., None]
        alpha[shape] = np.maximum(alpha[shape], 0.5)
        canvas = canvas * (1 - alpha) + surface * alpha
    return camera(canvas, rng, blur=0.0, noise=rng.uniform(1, 4)), visible_parts(shapes)
