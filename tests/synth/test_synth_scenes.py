"""Synthetic scenes: reproducible from a seed, masks that match what was drawn, per domain."""
import cv2
import numpy as np
import pytest

from app.cli.synth import DOMAIN_NAMES
from app.synth import DOMAINS, generate, make_scene
from app.synth.layout import place_shapes, visible_parts
from app.synth.shapes import KINDS, shape_mask
from app.synth.textures import gradient_signature

SCENES = 6


@pytest.fixture(scope="module")
def scenes():
    return {domain: list(generate(domain, SCENES, seed=7)) for domain in DOMAINS}


def _surroundings(masks, index, width=6):
    """Pixels within `width` of instance `index` that belong to no instance (its local background)."""
    near = cv2.dilate(masks[index].astype(np.uint8), np.ones((2 * width + 1,) * 2, np.uint8)).astype(bool)
    return near & ~np.any(masks, axis=0)


def test_cli_lists_every_domain():
    assert set(DOMAIN_NAMES) == set(DOMAINS)


@pytest.mark.parametrize("domain", list(DOMAINS))
@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_scene(domain):
    a, b = make_scene(domain, 3, 5), make_scene(domain, 3, 5)
    assert a.image.tobytes() == b.image.tobytes()
    assert [m.tobytes() for m in a.masks] == [m.tobytes() for m in b.masks]
    assert make_scene(domain, 4, 5).image.tobytes() != a.image.tobytes()
    assert make_scene(domain, 3, 6).image.tobytes() != a.image.tobytes()


@pytest.mark.parametrize("domain", list(DOMAINS))
@pytest.mark.slow
def test_masks_are_disjoint_non_empty_and_sized(scenes, domain):
    for scene in scenes[domain]:
        assert scene.image.shape == (256, 256, 3) and scene.image.dtype == np.uint8
        assert len(scene.masks) >= 1
        stack = np.stack(scene.masks)
        assert stack.dtype == bool and stack.shape[1:] == (256, 256)
        assert stack.sum(axis=(1, 2)).min() > 0
        assert stack.sum(axis=0).max() == 1


def test_other_sizes():
    scene = make_scene("shapes", 0, 0, size=128)
    assert scene.image.shape == (128, 128, 3) and scene.masks[0].shape == (128, 128)


@pytest.mark.slow
def test_shapes_objects_stand_out_in_colour(scenes):
    for scene in scenes["shapes"]:
        masks = np.stack(scene.masks)
        assert 2 <= len(masks) <= 8
        for i in range(len(masks)):
            around = _surroundings(masks, i)
            if around.sum() < 20:
                continue
            gap = np.linalg.norm(scene.image[masks[i]].mean(0) - scene.image[around].mean(0))
            assert gap > 35, f"scene {scene.index} object {i}: colour gap {gap:.1f}"


@pytest.mark.slow
def test_cells_are_grey_bright_and_some_touch(scenes):
    touching = 0
    for scene in scenes["cells"]:
        img = scene.image.astype(int)
        assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
        masks = np.stack(scene.masks)
        background = ~masks.any(axis=0)
        for i in range(len(masks)):
            assert img[masks[i], 0].mean() > img[_surroundings(masks, i), 0].mean() + 20
            grown = cv2.dilate(masks[i].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            touching += bool((grown & ~masks[i] & ~background).any())
    assert touching >= SCENES


@pytest.mark.slow
def test_texture_regions_share_the_colour_but_not_the_texture(scenes):
    for scene in scenes["texture"]:
        masks = np.stack(scene.masks)
        background = ~masks.any(axis=0)
        bg_sig = gradient_signature(scene.image, cv2.erode(background.astype(np.uint8), np.ones((5, 5))) > 0)
        for i, mask in enumerate(masks):
            inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5))) > 0
            if inner.sum() < 150:
                continue
            colour_gap = np.abs(scene.image[mask].mean(0) - scene.image[background].mean(0)).max()
            assert colour_gap < 15, f"scene {scene.index} object {i}: mean colour differs by {colour_gap:.1f}"
            sig = gradient_signature(scene.image, inner)
            gap = np.linalg.norm(sig - bg_sig) / max(np.linalg.norm(sig), np.linalg.norm(bg_sig))
            assert gap > 0.2, f"scene {scene.index} object {i}: texture signature gap {gap:.2f}"


def test_camouflage_is_low_contrast_yet_different(scenes):
    for scene in scenes["camouflage"]:
        masks = np.stack(scene.masks)
        for i in range(len(masks)):
            around = _surroundings(masks, i, width=10)
            if around.sum() < 50:
                continue
            gap = np.linalg.norm(scene.image[masks[i]].mean(0) - scene.image[around].mean(0))
            assert 3 < gap < 35, f"scene {scene.index} object {i}: colour gap {gap:.1f}"


def test_occluded_objects_lose_their_hidden_part():
    back, front = np.zeros((40, 40), bool), np.zeros((40, 40), bool)
    back[5:25, 5:25] = True
    front[15:35, 15:35] = True
    seen_back, seen_front = visible_parts([back, front])
    assert (seen_front == front).all()
    assert (seen_back == (back & ~front)).all() and seen_back.sum() == 400 - 100


def test_placed_shapes_keep_enough_visible():
    rng = np.random.default_rng(0)
    shapes = place_shapes(rng, 128, 8, radius=(10, 30), min_visible=0.5, min_area=40)
    assert len(shapes) >= 4
    hidden_somewhere = False
    for shape, seen in zip(shapes, visible_parts(shapes)):
        assert seen.sum() >= max(40, 0.5 * shape.sum())
        hidden_somewhere |= bool(seen.sum() < shape.sum())
    assert hidden_somewhere


@pytest.mark.parametrize("kind", KINDS)
def test_each_shape_kind_draws_around_its_centre(kind):
    mask = shape_mask(np.random.default_rng(1), kind, 100, (50, 50), 30)
    ys, xs = np.nonzero(mask)
    assert 200 < mask.sum() < np.pi * 31 ** 2
    assert abs(xs.mean() - 50) < 10 and abs(ys.mean() - 50) < 10
    assert xs.min() >= 50 - 31 and xs.max() <= 50 + 31
    assert mask[50, 50] == (kind != "ring")
