"""Fine-tuning a MoPEFT-wrapped SAM 2.1 (sam2_tiny, random weights): the cached path, a whole run (validation,
adapter file, a SAM 1 adapter to continue from refused), and an overfit run whose adapter loads back."""
import numpy as np
import pytest
import torch

import app.training.finetune.loop as loop
from app.metrics.dataset import EvalImage
from app.metrics.evaluate import evaluate_sam
from app.mopeft import MoPEFTConfig, adapted_copy, read_adapter_base, save_adapter, wrap
from app.sam.variants import build_sam
from app.sam2 import Sam2Engine
from app.sam2.encoder import image_features
from app.synth.scenes import make_scene
from app.training.finetune.examples import model_inputs
from app.training.finetune.run import adapt, fine_tune, start_model
from app.training.finetune.settings import TrainSettings
from peft_copies import trained_copy
from sam2_models import random_sam2_tiny


def _examples(prefix="img"):
    """Two synthetic 128 px scenes, one object each: a random decoder does not tell the objects of one image apart."""
    scenes = [make_scene("shapes", 0, i, 128) for i in range(2)]
    return [EvalImage(f"{prefix}{i}.png", s.image, s.masks[:1], [i]) for i, s in enumerate(scenes)]


@pytest.mark.slow
def test_the_cached_path_gives_the_full_encoders_features_and_trains_the_last_blocks():
    settings = TrainSettings(MoPEFTConfig(blocks="last:3"), steps=2)
    model = trained_copy(random_sam2_tiny(), settings.mopeft)  # PEFT weights moved: the blocks are not identities
    inputs = [model_inputs(model, e) for e in _examples()]
    data = loop.prepare(model, inputs)
    tokens, stages = data[0].tokens  # the output of blocks 0 and 1, and of the two stages they end
    assert tokens.shape == (1, 16, 16, 32) and [s.shape[-1] for s in stages] == [16, 32]
    with torch.no_grad():
        cached = loop._embeddings(model, data)
        full = image_features(model, torch.cat([image for image, _ in inputs]))
    for a, b in zip(cached, full):
        assert torch.allclose(a, b, atol=1e-5)
    events = []
    assert loop.train_loop(model, data, settings, on_step=events.append) == 2
    assert sorted(events[-1].gates) == ["blocks.2", "blocks.3", "blocks.4"]  # 64, 64, then 64 -> 128 channels
    assert all(set(kinds) == {"lora", "prefix", "adapter"} for kinds in events[-1].gates.values())


@pytest.mark.slow
def test_a_run_validates_and_saves_a_sam2_adapter_and_does_not_continue_from_a_sam1_one(tmp_path):
    sam1 = save_adapter(wrap(build_sam("tiny"), MoPEFTConfig(blocks="last:1")), tmp_path / "sam1.safetensors")
    held_out = _examples("held")
    events = []
    outcome = fine_tune(random_sam2_tiny(), _examples() + held_out, TrainSettings(MoPEFTConfig(blocks="last:3"),
                        steps=2), tmp_path / "adapters", start_adapter=sam1, on_event=events.append,
                        held_out={e.name for e in held_out})
    assert any("made for SAM 1 tiny, but the model is SAM 2.1 sam2_tiny" in w for w in outcome.warnings)
    assert [e.when for e in events if type(e).__name__ == "MetricsEvent"] == ["before", "after"]
    assert outcome.before["instances"] == outcome.after["instances"] == 2 and outcome.train_images == 2
    assert 0 <= outcome.after["miou_1click"] <= 1
    assert read_adapter_base(outcome.adapter_path) == ("sam2", "sam2_tiny")


@pytest.mark.slow
def test_an_overfit_run_lifts_iou_and_its_adapter_gives_the_trained_models_masks(tmp_path):
    """Measured: one-click mIoU 0.01 -> 0.64 in 80 steps (every block: the cached path's frozen first stages would
    feed the decoder's high-resolution maps unchanged, and learn far more slowly on a random model)."""
    base, examples = random_sam2_tiny(), _examples()
    settings = TrainSettings(MoPEFTConfig(blocks="all"), steps=80, lr=0.1)
    trained = start_model(base, settings, None, [])
    adapt(trained, examples, settings)
    before = evaluate_sam(base, examples, max_clicks=1).summary()["miou_1click"]
    after = evaluate_sam(trained, examples, max_clicks=1).summary()["miou_1click"]
    assert after >= before + 0.4, (before, after)
    loaded = adapted_copy(random_sam2_tiny(), save_adapter(trained, tmp_path / "a.safetensors"))
    for example in examples:
        ys, xs = np.nonzero(example.masks[0])
        click = np.array([[xs[len(xs) // 2], ys[len(ys) // 2]]], float)
        want, got = (_engine(m, example.rgb).predict(click, np.array([1])) for m in (trained, loaded))
        assert np.array_equal(want.masks, got.masks)
        assert np.allclose(want.low_res_logits, got.low_res_logits, atol=1e-5)


def _engine(model, rgb):
    """A Sam2Engine on `model` with `rgb` set."""
    engine = Sam2Engine(model)
    engine.set_image(rgb)
    return engine
