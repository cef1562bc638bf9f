"""Placing random shapes in a scene with occlusion: later objects hide parts of earlier ones.

Objects are drawn back to front. The instance mask of an object is its visible part: its shape
minus every shape drawn after it. Placements that would hide too much of an object are redrawn.
"""
from __future__ import annotations

import numpy as np

from app.synth.shapes import KINDS, shape_mask


def visible_parts(shapes: list[np.ndarray]) -> list[np.ndarray]:
    """The visible part of each shape (bool masks, back to front): the shape minus all later shapes."""
    covered = np.zeros_like(shapes[0]) if shapes else None
    visible = []
    for shape in reversed(shapes):
        visible.append(shape & ~covered)
        covered = covered | shape
    return visible[::-1]


def place_shapes(rng: np.random.Generator, size: int, count: int, radius: tuple[float, float],
                 kinds: tuple[str, ...] = KINDS, min_visible: float = 0.5, min_area: int = 60,
                 tries: int = 40) -> list[np.ndarray]:
    """Up to `count` random shape masks (back to front) whose visible parts are large enough.

    Each visible part keeps at least `min_visible` of its shape and `min_area` pixels; an object
    whose placement breaks that for itself or an earlier object is redrawn up to `tries` times,
    then left out (so a crowded scene may hold fewer than `count`).
    """
    shapes: list[np.ndarray] = []
    for _ in range(count):
        for _ in range(tries):
            r = rng.uniform(*radius)
            centre = rng.uniform(0.15 * size, 0.85 * size, 2)
            shape = shape_mask(rng, str(rng.choice(kinds)), size, centre, r)
            candidate = shapes + [shape]
            areas = [int(s.sum()) for s in candidate]
            seen = [int(v.sum()) for v in visible_parts(candidate)]
            if all(v >= max(min_area, min_visible * a) for v, a in zip(seen, areas)):
                shapes = candidate
                break
    return shapes
