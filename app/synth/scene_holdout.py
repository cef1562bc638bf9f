"""A second in-domain generator, written apart from `scene_shapes`, for validation only: never trained on.

It draws the same kind of scene (distinct objects on a background) with other means, so a model that learnt the
first generator's habits rather than objects shows it here: other shape families (rounded rectangles, capsules,
crescents, crosses, L shapes, hearts, superellipses, drops), drawn as implicit functions on the pixel grid, not as
polygons; object sizes from 1 % to 40 % of the image (log-uniform); objects that touch or overlap; colours drawn in
HSV; fills that are flat, gradients, stripes, checks or shaded; backgrounds of two-colour gradients, stripes or
noise; and a camera of gamma, box blur and either Gaussian or salt-and-pepper noise.
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

FAMILIES = ("rounded_rect", "capsule", "crescent", "cross", "l_shape", "heart", "superellipse", "drop")
AREA_RANGE = (0.01, 0.40)
"""Smallest and largest object area as a fraction of the image."""
MIN_VISIBLE = 0.4
"""Least share of an object left visible by the objects in front of it."""
CONTRAST = 60.0
"""Least RGB distance between an object's mean colour and the background's, and between neighbours'."""


def _unit(family: str, rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The family's shape at unit scale: True where (u, v) (centred, rotated coordinates) is inside."""
    if family == "rounded_rect":
        w, h, r = rng.uniform(0.6, 1.0), rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.3)
        qx, qy = np.abs(u) - w + r, np.abs(v) - h + r
        return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) <= r
    if family == "capsule":
        half, r = rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.4)
        return np.hypot(u - np.clip(u, -half, half), v) <= r
    if family == "crescent":
        shift = rng.uniform(0.35, 0.6)
        return (np.hypot(u, v) <= 1.0) & (np.hypot(u - shift, v) > rng.uniform(0.7, 0.9))
    if family == "cross":
        arm = rng.uniform(0.2, 0.4)
        return ((np.abs(u) <= arm) & (np.abs(v) <= 1)) | ((np.abs(v) <= arm) & (np.abs(u) <= 1))
    if family == "l_shape":
        t = rng.uniform(0.3, 0.5)
        box = (np.abs(u) <= 1) & (np.abs(v) <= 1)
        return box & ((u <= -1 + 2 * t) | (v >= 1 - 2 * t))
    if family == "heart":
        x, y = u * 1.2, -v * 1.2 + 0.3
        return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0
    if family == "superellipse":
        p = rng.uniform(0.6, 4.0)
        return np.abs(u) ** p + np.abs(v / rng.uniform(0.5, 1.0)) ** p <= 1
    if family == "drop":
        return np.hypot(u, v) <= 0.55 * (1 - np.clip(v, -1, 1)) ** 0.8
    raise ValueError(f"unknown shape family {family!r}; known: {', '.join(FAMILIES)}")


def object_mask(rng: np.random.Generator, size: int, family: str, centre: np.ndarray, area: float) -> np.ndarray:
    """A size x size bool mask of one `family` shape around (x, y) `centre` covering about `area` pixels."""
    angle = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(angle), np.sin(angle)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = xx - centre[0], yy - centre[1]
    state = rng.bit_generator.state     # the same shape parameters at every scale
    scale = np.sqrt(area)
    for _ in range(3):                  # unit shapes differ in area: rescale to the asked area
        rng.bit_generator.state = state
        mask = _unit(family, rng, (c * dx + s * dy) / scale, (-s * dx + c * dy) / scale)
        got = int(mask.sum())
        if got == 0:
            scale *= 2
            continue
        scale *= np.sqrt(area / got)
    return mask


def _hsv_colour(rng: np.random.Generator) -> np.ndarray:
    rgb = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.0, 1.0), rng.uniform(0.15, 1.0))
    return np.array(rgb, np.float32) * 255


def _fill(rng: np.random.Generator, size: int, colour: np.ndarray) -> np.ndarray:
    """A size x size x 3 float picture around `colour`: flat, a gradient, stripes, checks or shaded."""
    style = rng.choice(["flat", "gradient", "stripes", "checks", "shaded"])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if style == "flat":
        field = np.zeros((size, size), np.float32)
    elif style == "gradient":
        a = rng.uniform(0, 2 * np.pi)
        field = (np.cos(a) * xx + np.sin(a) * yy) * 2 - 1
    elif style == "stripes":
        a, period = rng.uniform(0, np.pi), rng.uniform(0.02, 0.08)
        field = np.sign(np.sin((np.cos(a) * xx + np.sin(a) * yy) * 2 * np.pi / period))
    elif style == "checks":
        period = rng.uniform(0.03, 0.1)
        field = np.where((np.floor(xx / period) + np.floor(yy / period)) % 2 == 0, 1.0, -1.0)
    else:
        cx, cy = rng.uniform(0, 1, 2)
        field = 1 - 2 * np.clip(np.hypot(xx - cx, yy - cy) * 2, 0, 1)
    return colour + field[..., None] * rng.uniform(5, 25)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    style = rng.choice(["two_colour", "stripes", "noise"])
    first = _hsv_colour(rng)
    if style == "two_colour":
        second = np.clip(first + rng.uniform(-40, 40, 3), 0, 255)
        t = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
        picture = np.broadcast_to(first * (1 - t) + second * t, (size, size, 3)).copy()
        return picture if rng.random() < 0.5 else picture.transpose(1, 0, 2).copy()
    if style == "stripes":
        bands = np.sign(np.sin(np.arange(size, dtype=np.float32) / rng.uniform(3, 9))) * rng.uniform(3, 10)
        return np.broadcast_to(first + bands[None, :, None], (size, size, 3)).copy()
    grain = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), rng.uniform(1, 6))
    return first + grain[..., None] / (grain.std() + 1e-6) * rng.uniform(4, 12)


def _camera(rng: np.random.Generator, picture: np.ndarray) -> np.ndarray:
    image = 255 * (np.clip(picture, 0, 255) / 255) ** rng.uniform(0.8, 1.25)
    if rng.random() < 0.4:
        image = cv2.blur(image, (3, 3))
    if rng.random() < 0.5:
        image = image + rng.normal(0, rng.uniform(1, 8), image.shape)
    else:
        salt = rng.random(image.shape[:2]) < rng.uniform(0, 0.01)
        image[salt] = rng.choice([0.0, 255.0], (int(salt.sum()), 1))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _place(rng: np.random.Generator, size: int, placed: list[np.ndarray], area: float) -> np.ndarray | None:
    """One new object: free, touching an earlier one, or overlapping one; None when no placement fits."""
    family = str(rng.choice(FAMILIES))
    how = rng.choice(["free", "touch", "overlap"]) if placed else "free"
    for _ in range(20):
        centre = rng.uniform(0.1 * size, 0.9 * size, 2)
        mask = object_mask(rng, size, family, centre, area)
        if mask.sum() < 0.5 * area or mask.sum() == 0:
            continue
        taken = np.logical_or.reduce(placed) if placed else np.zeros_like(mask)
        if how == "touch":
            ring = cv2.dilate(taken.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~taken
            mask = _slide_to_touch(mask, taken, ring)
            if mask is None:
                continue
        elif how == "free" and (mask & taken).any():
            continue
        visible_share = [((p & ~mask).sum() / p.sum()) for p in _visible(placed)] if placed else []
        if all(share >= MIN_VISIBLE for share in visible_share):
            return mask
    return None


def _slide_to_touch(mask: np.ndarray, taken: np.ndarray, ring: np.ndarray) -> np.ndarray | None:
    """`mask` moved along the line to the nearest taken pixel until it just touches `taken` without overlap."""
    ys, xs = np.nonzero(mask)
    ty, tx = np.nonzero(taken)
    if ty.size == 0:
        return None
    cy, cx = ys.mean(), xs.mean()
    k = int(np.argmin((ty - cy) ** 2 + (tx - cx) ** 2))
    direction = np.array([ty[k] - cy, tx[k] - cx])
    length = float(np.hypot(*direction))
    if length == 0:
        return None
    step = direction / length
    h, w = mask.shape
    best = None
    for t in range(0, int(length) + 1, 2):
        y, x = np.round(ys + step[0] * t).astype(int), np.round(xs + step[1] * t).astype(int)
        keep = (y >= 0) & (y < h) & (x >= 0) & (x < w)
        moved = np.zeros_like(mask)
        moved[y[keep], x[keep]] = True
        if (moved & taken).any():
            break
        best = moved
    return best if best is not None and (best & ring).any() else None


def _visible(shapes: list[np.ndarray]) -> list[np.ndarray]:
    """Each shape minus every shape drawn after it (back to front)."""
    return [shape & ~np.logical_or.reduce(shapes[i + 1:]) if i + 1 < len(shapes) else shape
            for i, shape in enumerate(shapes)]


def render_holdout(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """One validation scene of 1-7 objects: the image and the objects' visible parts (disjoint bool masks)."""
    picture = _background(rng, size)
    backdrop = picture.reshape(-1, 3).mean(0)
    shapes: list[np.ndarray] = []
    colours: list[np.ndarray] = []
    budget = 0.75 * size * size
    for _ in range(int(rng.integers(1, 8))):
        area = float(np.exp(rng.uniform(*np.log(AREA_RANGE)))) * size * size
        if area > budget:
            continue
        mask = _place(rng, size, shapes, area)
        if mask is None:
            continue
        for _ in range(30):
            colour = _hsv_colour(rng)
            if all(np.linalg.norm(colour - other) >= CONTRAST for other in [backdrop, *colours]):
                break
        else:
            continue
        picture[mask] = _fill(rng, size, colour)[mask]
        shapes.append(mask)
        colours.append(colour)
        budget -= area
    visible = [m for m in _visible(shapes) if m.sum() >= 0.005 * size * size]
    return _camera(rng, picture), visible
