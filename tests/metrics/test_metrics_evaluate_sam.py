"""evaluate_sam: a SAM model in memory through the protocol, no disk cache, train/eval mode given back."""
import numpy as np
import pytest
import torch

from app.metrics import EvalImage, evaluate_sam, first_click, mask_iou
from app.sam.engine import SamEngine
from app.sam.variants import build_sam


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(2)
    out = []
    for n, (h, w) in enumerate([(50, 70), (64, 48)]):
        rgb = rng.integers(0, 80, (h, w, 3), dtype=np.uint8)
        gt = np.zeros((h, w), bool)
        gt[8:30, 10 + n:40] = True
        rgb[gt] = (220, 200, 30)
        out.append(EvalImage(f"{n}.png", rgb, [gt, ~gt], [f"{n}a", f"{n}b"]))
    return out


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.slow
def test_mode_is_given_back_and_every_instance_is_evaluated(images, training):
    torch.manual_seed(0)
    sam = build_sam("tiny").train(training)
    result = evaluate_sam(sam, images, max_clicks=3)
    assert sam.training is training
    assert result.count == 4 and [r.instance for r in result.instances] == ["0a", "0b", "1a", "1b"]
    assert all(len(r.ious) == 3 and all(0.0 <= v <= 1.0 for v in r.ious) for r in result.instances)


@pytest.mark.slow
def test_first_click_iou_is_sams_best_mask_at_the_interior_point(images):
    torch.manual_seed(0)
    sam = build_sam("tiny")
    result = evaluate_sam(sam, images, max_clicks=2)
    engine = SamEngine(sam)
    for n, image in enumerate(images):
        engine.set_image(image.rgb)
        for gt, instance in zip(image.masks, result.instances[2 * n:2 * n + 2]):
            click = first_click(gt)
            prediction = engine.predict(points=[[click.x, click.y]], labels=[1], multimask=True)
            assert instance.iou_1click == mask_iou(prediction.masks[prediction.best], gt)


def test_no_embedding_is_written_to_disk(images, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    evaluate_sam(build_sam("tiny"), images[:1], max_clicks=1)
    assert list(tmp_path.iterdir()) == []
