"""The shipped demo model: the registered file, and weights that really segment unseen shapes."""
import hashlib

import pytest

from app.sam.checkpoints import CHECKPOINTS, load_sam
from app.sam.variants import build_sam
from app.metrics.evaluate import evaluate_sam
from app.synth import eval_images, generate

UNSEEN_SEED = 4242  # neither the training seed (0) nor the validation seed (1000)
FLOOR = 0.60  # demo v2 scores 0.70 here (v1: 0.61, floor 0.45), random weights of the same architecture 0.03


@pytest.fixture(scope="module")
def scenes():
    return list(generate("shapes", 8, UNSEEN_SEED))


@pytest.mark.slow
def test_shipped_file_matches_the_registry():
    info = CHECKPOINTS["demo"]
    data = info.path.read_bytes()
    assert info.sha256 is not None and info.size is not None
    assert len(data) == info.size <= 20_000_000
    assert hashlib.sha256(data).hexdigest() == info.sha256
    loaded = load_sam("demo", device="cpu")
    assert loaded.arch == "demo" and loaded.path == info.path


@pytest.mark.slow
def test_shipped_weights_segment_unseen_shapes_with_one_click(scenes):
    result = evaluate_sam(load_sam("demo", device="cpu").sam, eval_images(scenes), max_clicks=1)
    miou = result.summary()["miou_1click"]
    assert len(result.instances) >= 16
    assert miou >= FLOOR, f"one-click mIoU {miou:.3f} on {len(result.instances)} objects"


@pytest.mark.slow
def test_random_weights_stay_far_below_the_floor(scenes):
    assert evaluate_sam(build_sam("demo"), eval_images(scenes[:2]), max_clicks=1).summary()["miou_1click"] < FLOOR / 2
