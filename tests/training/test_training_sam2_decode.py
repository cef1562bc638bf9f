"""SAM 2.1's training path (preprocessing, features, batched prompt decoding) computes what the annotator's
Sam2Engine predicts for the same prompts, and SAM 1 users never import transformers."""
import pytest
import subprocess
import sys

import numpy as np
import torch

from app.metrics.dataset import EvalImage
from app.sam2 import Sam2Engine
from app.training.family import training_family
from app.training.prompts import Prompts
from sam2_models import random_sam2_tiny

H, W = 90, 150  # not square: SAM 2 stretches it to the model's 128 x 128


def _rgb(seed):
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _square(xy):
    """Image pixels (..., 2) xy -> the model's 128 x 128 input frame."""
    return torch.as_tensor(xy, dtype=torch.float) * torch.tensor([128 / W, 128 / H])


def _features(model, images):
    family = training_family(model)
    inputs = [family.input_frame(model, EvalImage("x", rgb, [np.ones((H, W), bool)], [0]))[0] for rgb in images]
    return inputs, family.features(model, [family.cache(model, x, 0) for x in inputs], 0)


@pytest.mark.slow
def test_a_point_decodes_as_the_engine_predicts_it():
    model = random_sam2_tiny()
    rgb = _rgb(0)
    engine = Sam2Engine(model)
    engine.set_image(rgb)
    point = np.array([[40.0, 30.0]])
    want = engine.predict(point, np.array([1]), multimask=True)
    (image,), features = _features(model, [rgb])
    assert torch.equal(image, engine.pixel_values(rgb))
    prompts = Prompts(_square(point), torch.zeros(1, 4), torch.tensor([False]), torch.zeros(1, 0, 2),
                      torch.zeros(1, 0, dtype=torch.long))
    with torch.no_grad():
        low, iou = training_family(model).decode_prompts(model, features, torch.tensor([0]), prompts, None)
        single = model.train()(image_embeddings=engine.features, input_points=_square(point)[None, None],
                               input_labels=torch.ones(1, 1, 1, dtype=torch.int), multimask_output=False)
    assert low.shape == (1, 4, 32, 32) and iou.shape == (1, 4)
    assert torch.allclose(low[0, 1:], torch.as_tensor(want.low_res_logits), atol=1e-4)
    assert torch.allclose(iou[0, 1:], torch.as_tensor(want.scores), atol=1e-4)
    assert torch.allclose(low[0, :1], single.pred_masks[0, 0], atol=1e-4)  # the single-mask output, undecided
    assert torch.allclose(iou[0, :1], single.iou_scores[0, 0], atol=1e-4)


@pytest.mark.slow
def test_rows_of_two_images_with_boxes_clicks_and_mask_inputs_decode_as_the_engine_predicts_them():
    model = random_sam2_tiny()
    images = [_rgb(1), _rgb(2)]
    _, features = _features(model, images)
    owners = torch.tensor([1, 0, 1])
    first = np.array([[20.0, 15.0], [100.0, 60.0], [70.0, 40.0]])
    boxes = np.array([[5.0, 5.0, 60.0, 50.0], [30.0, 20.0, 140.0, 85.0], [10.0, 10.0, 90.0, 70.0]])
    use_box = torch.tensor([False, True, True])
    clicks, labels = np.array([[[30.0, 25.0]], [[80.0, 50.0]], [[60.0, 35.0]]]), np.array([[0], [1], [0]])
    engine = Sam2Engine(model)
    mask_input = torch.randn(3, 1, 32, 32) * 4
    prompts = Prompts(_square(first), _square(boxes.reshape(3, 2, 2)).reshape(3, 4), use_box, _square(clicks),
                      torch.as_tensor(labels))
    with torch.no_grad():
        low, iou = training_family(model).decode_prompts(model, features, owners, prompts, mask_input)
    for row, image in enumerate(owners.tolist()):
        engine.set_image(images[image])
        box = boxes[row] if use_box[row] else None
        points = clicks[row] if use_box[row] else np.concatenate([first[row:row + 1], clicks[row]])
        point_labels = labels[row] if use_box[row] else np.concatenate([[1], labels[row]])
        want = engine.predict(points, point_labels, box=box, mask_input=mask_input[row].numpy(), multimask=True)
        assert torch.allclose(low[row, 1:], torch.as_tensor(want.low_res_logits), atol=1e-4)
        assert torch.allclose(iou[row, 1:], torch.as_tensor(want.scores), atol=1e-4)


@pytest.mark.slow
def test_training_a_sam1_model_imports_no_transformers():
    code = ("import sys, torch\n"
            "from app.sam.variants import build_sam\n"
            "from app.training.family import training_family\n"
            "import app.services.training_run, app.metrics.evaluate, app.bench.train\n"
            "sam = build_sam('tiny')\n"
            "assert training_family(sam).input_side(sam) == 128\n"
            "print('transformers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
