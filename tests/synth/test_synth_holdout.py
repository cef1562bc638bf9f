"""The hold-out generator: written apart from `shapes` (its own shapes, sizes, colours), with touching and
overlapping objects, and never used by pretraining."""
import ast
import inspect

import numpy as np
import pytest

from app.synth import generate, make_scene
from app.synth import scene_holdout
from app.synth.scene_holdout import AREA_RANGE, FAMILIES, object_mask

SCENES = 30


@pytest.fixture(scope="module")
def scenes():
    return list(generate("holdout", SCENES, seed=1000))


def test_it_shares_no_code_with_the_training_generator():
    imported = {node.module for node in ast.walk(ast.parse(inspect.getsource(scene_holdout)))
                if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m and m.startswith("app.")}, imported


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_covers_the_asked_area_around_its_centre(family):
    rng = np.random.default_rng(3)
    for fraction in (0.01, 0.1, 0.25):   # 40 % objects may be cut by the border: the placement copes
        area = fraction * 256 * 256
        mask = object_mask(rng, 256, family, np.array([128.0, 128.0]), area)
        assert 0.8 * area <= mask.sum() <= 1.25 * area, (family, fraction, mask.sum() / area)
        ys, xs = np.nonzero(mask)
        assert xs.min() < 128 < xs.max() and ys.min() < 128 < ys.max()


@pytest.mark.slow
def test_objects_span_small_to_large_and_some_touch_or_overlap(scenes):
    fractions = [m.mean() for s in scenes for m in s.masks]
    assert min(fractions) < 0.02 and max(fractions) > 0.2
    assert max(fractions) <= AREA_RANGE[1] + 0.01
    touching = 0
    for scene in scenes:
        for i, a in enumerate(scene.masks):
            grown = np.zeros_like(a)
            grown[1:, :] |= a[:-1, :]
            grown[:-1, :] |= a[1:, :]
            grown[:, 1:] |= a[:, :-1]
            grown[:, :-1] |= a[:, 1:]
            touching += sum(bool((grown & b).any()) for b in scene.masks[i + 1:])
    assert touching >= SCENES // 3


@pytest.mark.slow
def test_objects_stand_out_from_the_background(scenes):
    for scene in scenes[:10]:
        background = ~np.any(scene.masks, axis=0)
        back = scene.image[background].reshape(-1, 3).mean(0)
        for mask in scene.masks:
            assert np.linalg.norm(scene.image[mask].reshape(-1, 3).mean(0) - back) > 25


def test_pretraining_draws_only_the_training_generator():
    from app.training.pretrain import run

    source = inspect.getsource(run)
    assert 'make_scene("shapes"' in source and "holdout" not in source


@pytest.mark.slow
def test_same_seed_same_scene_other_index_other_scene():
    a, b = make_scene("holdout", 1000, 2), make_scene("holdout", 1000, 2)
    assert a.image.tobytes() == b.image.tobytes()
    assert make_scene("holdout", 1000, 3).image.tobytes() != a.image.tobytes()
