"""Out-of-domain generator `texture`: objects that differ from the background by texture, not by colour."""
from __future__ import annotations

import numpy as np

from app.synth.layout import place_shapes, visible_parts
from app.synth.paint import camera, textured_fill
from app.synth.textures import KINDS, gradient_signature, texture_field

MAX_SWING = 70.0
"""Largest excursion of a texture from the shared base colour, so that nothing clips and means stay equal."""
MIN_SIGNATURE_GAP = 0.35
"""Least relative difference between the gradient signatures of two surfaces that may touch."""


def _surface(rng: np.random.Generator, size: int, others: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A scaled texture field whose gradient signature differs from every one in `others`, and its signature."""
    best = None
    for _ in range(30):
        field = texture_field(rng, str(rng.choice(KINDS)), size)
        field *= min(rng.uniform(30, 45), MAX_SWING / float(np.abs(field).max()))
        sig = gradient_signature(field)
        gap = min((np.linalg.norm(sig - o) / max(np.linalg.norm(o), np.linalg.norm(sig)) for o in others),
                  default=1.0)
        if best is None or gap > best[0]:
            best = (gap, field, sig)
        if gap >= MIN_SIGNATURE_GAP:
            break
    return best[1], best[2]


def render_texture(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """One scene of 2-6 regions on a background, all of one mean colour: image and visible-part masks.

    Background and objects carry textures (noise, stripes, checkers, dots) of different kind, scale
    or orientation, chosen so their gradient signatures differ.
    """
    base = rng.uniform(75, 180, 3)
    field, sig = _surface(rng, size, [])
    canvas = textured_fill(base, field, 1.0)
    signatures = [sig]
    shapes = place_shapes(rng, size, int(rng.integers(2, 7)), radius=(0.1 * size, 0.25 * size), min_area=150)
    for shape in shapes:
        field, sig = _surface(rng, size, signatures)
        signatures.append(sig)
        canvas[shape] = textured_fill(base, field, 1.0)[shape]
    return camera(canvas, rng, blur=0.0, noise=rng.uniform(0, 4)), visible_parts(shapes)
