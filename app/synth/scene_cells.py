"""Out-of-domain generator `cells`: grayscale microscopy-like cells, touching, soft-edged, noisy, unevenly lit."""
from __future__ import annotations

import numpy as np

from app.synth.paint import camera, linear_ramp
from app.synth.textures import smooth_noise


def _cell_distances(rng: np.random.Generator, size: int, count: int) -> list[np.ndarray]:
    """Per cell, an H x W field of distance divided by the cell's wobbly radius (< 1 inside the cell).

    Cells come in clusters so that many touch; centres closer than 0.8 x the sum of radii are redrawn.
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    clusters = rng.uniform(0.25 * size, 0.75 * size, (int(rng.integers(1, 4)), 2))
    placed: list[tuple[np.ndarray, float]] = []
    fields = []
    for _ in range(count):
        for _ in range(40):
            r = rng.uniform(0.04, 0.1) * size
            centre = clusters[rng.integers(len(clusters))] + rng.normal(0, 0.1 * size, 2)
            inside = np.all((centre > r) & (centre < size - r))
            if inside and all(np.linalg.norm(centre - c) >= 0.8 * (r + rc) for c, rc in placed):
                break
        else:
            continue
        placed.append((centre, r))
        theta = np.arctan2(y - centre[1], x - centre[0])
        stretch = rng.uniform(0.7, 1.0)
        turn = rng.uniform(0, np.pi)
        radius = r * (1 + sum(rng.uniform(0, 0.12 / k) * np.cos(k * theta + rng.uniform(0, 6.3)) for k in (2, 3, 4)))
        radius *= np.sqrt(1 / (np.cos(theta - turn) ** 2 + (np.sin(theta - turn) / stretch) ** 2))
        fields.append(np.hypot(x - centre[0], y - centre[1]) / radius)
    return fields


def render_cells(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """One grayscale scene of 3-10 touching cells: image (grey in all three channels) and cell masks.

    A pixel belongs to the cell whose normalised distance is smallest when that is below 1; cells
    are brighter than the background, dome-shaped, with a darker line where two touch, blurred,
    lit by an uneven ramp and covered in sensor noise.
    """
    fields = _cell_distances(rng, size, int(rng.integers(3, 11)))
    d = np.stack(fields)
    order = np.argsort(d, axis=0)
    nearest = np.take_along_axis(d, order[:1], 0)[0]
    second = np.take_along_axis(d, order[1:2], 0)[0] if len(fields) > 1 else np.full_like(nearest, 9.0)
    owner = np.where(nearest < 1, order[0], -1)
    brightness = rng.uniform(90, 200, len(fields))
    dome = 0.75 + 0.25 * np.clip(1 - nearest ** 2, 0, 1)
    membrane = 1 - 0.35 * np.exp(-((second - nearest) / 0.08) ** 2)
    grain = 1 + 0.08 * smooth_noise(rng, size, rng.uniform(1, 3))
    cells = np.where(owner >= 0, brightness[np.maximum(owner, 0)] * dome * membrane * grain, 0.0)
    backdrop = rng.uniform(15, 50)
    light = 1 + linear_ramp(rng, size, rng.uniform(0.2, 0.8))
    grey = (backdrop + cells) * light
    image = camera(grey, rng, blur=rng.uniform(1.0, 2.2), noise=rng.uniform(3, 10))
    return np.repeat(image[..., None], 3, axis=2), [owner == i for i in range(len(fields))]
