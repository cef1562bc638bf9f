"""Random shape masks: ellipses, polygons, stars, rings with a hole, and smooth blobs.

Each shape is drawn by OpenCV into an H x W bool mask around a centre with a nominal radius, so the
layout code can place any kind the same way.
"""
from __future__ import annotations

import cv2
import numpy as np

KINDS = ("ellipse", "polygon", "star", "ring", "blob")


def _fill(size: int, points: np.ndarray) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def _outline(centre, radii: np.ndarray, angles: np.ndarray) -> np.ndarray:
    return np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], axis=1)


def _ellipse(size: int, centre, rx: float, ry: float, angle: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return _fill(size, np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1))


def shape_mask(rng: np.random.Generator, kind: str, size: int, centre, radius: float) -> np.ndarray:
    """An H x W (size x size) bool mask of one random shape of `kind` centred at (x, y) `centre`.

    `radius` is the shape's nominal outer radius in pixels; the aspect ratio, rotation, vertex count,
    star depth, hole size and blob wobble are drawn from `rng`.
    """
    angle = rng.uniform(0, 2 * np.pi)
    if kind == "ellipse":
        return _ellipse(size, centre, radius, radius * rng.uniform(0.45, 1.0), angle)
    if kind == "polygon":
        n = int(rng.integers(3, 9))
        angles = angle + np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(-0.5, 0.5, n) * np.pi / n
        return _fill(size, _outline(centre, radius * rng.uniform(0.7, 1.0, n), angles))
    if kind == "star":
        n = int(rng.integers(4, 9))
        radii = np.tile([radius, radius * rng.uniform(0.35, 0.6)], n)
        angles = angle + np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
        return _fill(size, _outline(centre, radii, angles))
    if kind == "ring":
        ratio = rng.uniform(0.6, 1.0)
        outer = _ellipse(size, centre, radius, radius * ratio, angle)
        hole = rng.uniform(0.35, 0.6)
        return outer & ~_ellipse(size, centre, radius * hole, radius * ratio * hole, angle)
    if kind == "blob":
        t = np.linspace(0, 2 * np.pi, 128, endpoint=False)
        wobble = sum(rng.uniform(0, 0.22 / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi)) for k in range(2, 6))
        return _fill(size, _outline(centre, radius * (0.8 + wobble), t + angle))
    raise ValueError(f"unknown shape kind {kind!r}; known: {', '.join(KINDS)}")
