"""The in-domain generator: coloured, textured shapes on a textured background, with occlusion."""
from __future__ import annotations

import numpy as np

from app.synth.layout import place_shapes, visible_parts
from app.synth.paint import camera, distinct_colour, linear_ramp, textured_fill
from app.synth.textures import KINDS as TEXTURES, texture_field

BACKGROUND_GAP = 70.0
"""Least RGB distance between an object's colour and the background's."""
NEIGHBOUR_GAP = 45.0
"""Least RGB distance between the colours of two objects."""


def render_shapes(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """One scene of 2-8 shapes (ellipses, polygons, stars, rings, blobs): image and visible-part masks.

    Each object has its own flat or textured colour, far from the background's and from the other
    objects'; the background carries a weak texture and a lighting ramp.
    """
    background = rng.uniform(20, 235, 3)
    canvas = textured_fill(background, texture_field(rng, str(rng.choice(TEXTURES)), size), rng.uniform(0, 10))
    canvas += linear_ramp(rng, size, rng.uniform(0, 30))[..., None]
    shapes = place_shapes(rng, size, int(rng.integers(2, 9)), radius=(0.05 * size, 0.22 * size))
    avoid = [(background, BACKGROUND_GAP)]
    for shape in shapes:
        colour = distinct_colour(rng, avoid)
        avoid.append((colour, NEIGHBOUR_GAP))
        flat = rng.random() < 0.4
        field = texture_field(rng, str(rng.choice(TEXTURES)), size)
        canvas[shape] = textured_fill(colour, field, 0.0 if flat else rng.uniform(5, 18))[shape]
    image = camera(canvas, rng, blur=rng.choice([0.0, rng.uniform(0.4, 0.9)]), noise=rng.uniform(0, 6))
    return image, visible_parts(shapes)
