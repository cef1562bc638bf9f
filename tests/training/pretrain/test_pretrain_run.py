"""The pretraining recipe end to end on the `tiny` SAM: a few steps, reproducible, loadable, via the CLI too."""
import json
import math

import pytest
import torch

from app.cli.main import main
from app.training.pretrain.run import VALIDATION_SEED, PretrainConfig, learning_rate_factor, pretrain, save_state_dict
from app.sam.checkpoints import load_sam
from app.sam.variants import build_sam

TINY = PretrainConfig(arch="tiny", steps=3, images_per_step=2, objects_per_image=3, warmup_steps=2,
                      validation_scenes=2, validate_every=3)


@pytest.mark.slow
def test_tiny_run_gives_finite_losses_and_a_loadable_reproducible_model(tmp_path):
    sam, result = pretrain(TINY, log=lambda line: None)
    assert result.steps == 3 and result.seconds > 0
    last = result.history[-1]
    assert last["step"] == 3 and 0 <= result.validation_miou <= 1
    assert all(math.isfinite(last[k]) for k in ("loss", "mask_loss", "iou_mse"))
    path = save_state_dict(sam, tmp_path / "tiny.pth")
    loaded = load_sam(path, device="cpu")
    assert loaded.arch == "tiny"
    again, _ = pretrain(TINY, log=lambda line: None)
    fresh = torch.load(path, weights_only=True)
    for name, tensor in again.state_dict().items():
        assert torch.equal(tensor, fresh[name]), name
    torch.manual_seed(TINY.seed)
    initial = build_sam("tiny").state_dict()
    assert not torch.equal(fresh["mask_decoder.mask_tokens.weight"], initial["mask_decoder.mask_tokens.weight"])


@pytest.mark.slow
def test_stop_after_makes_a_cut_run_again_step_for_step():
    """A run cut after step 2 of a 3-step schedule: the weights of the full run's first two steps, the learning rate
    where the schedule was (not shortened)."""
    cut, result = pretrain(TINY, log=lambda line: None, stop_after=2)
    assert result.steps == 2 and result.history[-1]["step"] == 2
    assert result.history[-1]["lr"] == pytest.approx(TINY.lr * learning_rate_factor(2, TINY))
    again, _ = pretrain(TINY, log=lambda line: None, stop_after=2)
    full, _ = pretrain(TINY, log=lambda line: None)
    assert all(torch.equal(a, b) for a, b in zip(cut.state_dict().values(), again.state_dict().values()))
    assert not torch.equal(cut.state_dict()["mask_decoder.iou_token.weight"],
                           full.state_dict()["mask_decoder.iou_token.weight"])


@pytest.mark.slow
def test_training_lowers_the_loss_on_a_fixed_batch():
    from app.training.pretrain.batches import scene_batch
    from app.synth import make_scene
    from app.training.interactive import InteractiveConfig, interactive_loss

    sam = build_sam("tiny").train()
    images, targets = scene_batch([make_scene("shapes", 2, i, size=128) for i in range(2)], 3)
    optimizer = torch.optim.AdamW(sam.parameters(), lr=2e-3)
    config = InteractiveConfig(max_clicks=0, box_probability=1.0, loss_side=64)
    losses = []
    for _ in range(6):
        out = interactive_loss(sam, sam.image_encoder(sam.preprocess(images)), targets, config,
                               torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0]


def test_schedule_warms_up_then_decays_to_the_floor():
    config = PretrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.05)
    factors = [learning_rate_factor(s, config) for s in range(101)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[100] == pytest.approx(0.05)


def test_validation_seed_is_refused_for_training():
    with pytest.raises(ValueError, match="validation seed"):
        pretrain(PretrainConfig(arch="tiny", seed=VALIDATION_SEED, steps=1))


@pytest.mark.slow
def test_cli_trains_saves_and_reports(tmp_path, capsys):
    out, report = tmp_path / "m.pth", tmp_path / "r.json"
    assert main(["pretrain-demo", "--arch", "tiny", "--steps", "2", "--out", str(out), "--report", str(report),
                 "--eval-scenes", "2", "--device", "cpu"]) == 0
    assert load_sam(out, device="cpu").arch == "tiny"
    data = json.loads(report.read_text())
    assert data["steps"] == 2 and set(data["one_click_miou"]) == {"shapes", "holdout", "cells", "texture",
                                                                  "camouflage"}
    assert "sha256" in capsys.readouterr().out
