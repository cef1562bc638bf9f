"""Synthetic annotated scenes by domain and seed: `generate("shapes", count, seed)` and friends.

Scene `index` of a domain and seed is always the same picture (its random generator is seeded
from domain, seed and index), so a training run can draw scenes on the fly and a validation set
is a seed that training never uses.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from app.metrics.dataset import EvalImage
from app.synth.scene_camouflage import render_camouflage
from app.synth.scene_cells import render_cells
from app.synth.scene_holdout import render_holdout
from app.synth.scene_shapes import render_shapes
from app.synth.scene_texture import render_texture

Renderer = Callable[[np.random.Generator, int], tuple[np.ndarray, list[np.ndarray]]]

DOMAINS: dict[str, Renderer] = {
    "shapes": render_shapes,
    "cells": render_cells,
    "texture": render_texture,
    "camouflage": render_camouflage,
    "holdout": render_holdout,
}
"""Scene generators by domain name; `shapes` is the pretraining domain, `holdout` a second in-domain generator
written apart from it for validation only (never trained on), the others are out of domain."""

OBJECT_NAMES = {"shapes": "shape", "cells": "cell", "texture": "texture region", "camouflage": "camouflaged object",
                "holdout": "shape"}
"""What one instance of each domain is called (the COCO category name)."""


@dataclass(frozen=True)
class Scene:
    """One synthetic picture: image (H x W x 3 uint8 RGB) and its instance masks (H x W bool, disjoint)."""

    domain: str
    seed: int
    index: int
    image: np.ndarray
    masks: list[np.ndarray]


def eval_images(scenes: Iterable[Scene]) -> list[EvalImage]:
    """The scenes as evaluation images for `app.metrics` (named "<domain> <index>", masks numbered from 0)."""
    return [EvalImage(f"{s.domain} {s.index}", s.image, s.masks, list(range(len(s.masks)))) for s in scenes]


def make_scene(domain: str, seed: int, index: int, size: int = 256) -> Scene:
    """Scene number `index` of `domain` for `seed`, `size` x `size` pixels."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    rng = np.random.default_rng([zlib.crc32(domain.encode()), seed, index])
    image, masks = DOMAINS[domain](rng, size)
    return Scene(domain, seed, index, image, masks)


def generate(domain: str, count: int, seed: int, size: int = 256, start: int = 0) -> Iterator[Scene]:
    """Scenes `start` .. `start + count - 1` of `domain` for `seed`, one at a time."""
    for index in range(start, start + count):
        yield make_scene(domain, seed, index, size)
