"""Fine-tuning the shipped demo model on a small out-of-domain project: a short CPU run beats zero-shot SAM on
the held-out image, and the gates say which kind each block uses."""
import pytest

from app.sam.checkpoints import CHECKPOINTS, load_sam
from app.synth import eval_images, generate
from app.training.finetune.events import StepEvent
from app.training.finetune.run import fine_tune
from app.training.finetune.settings import TrainSettings

pytestmark = [pytest.mark.skipif(not CHECKPOINTS["demo"].path.is_file(), reason="needs resources/models/demo_sam.pth"),
              pytest.mark.slow]


def test_a_short_run_on_texture_regions_improves_one_click_miou_over_zero_shot(tmp_path):
    base = load_sam("demo", device="cpu").sam
    # 10 annotated texture images (seed 77, a domain the demo model never saw): 8 train, 2 held out
    examples = eval_images(generate("texture", 10, 77))
    steps = []
    outcome = fine_tune(base, examples, TrainSettings(steps=150, seed=0), tmp_path,
                        on_event=lambda e: isinstance(e, StepEvent) and steps.append(e))
    assert (outcome.train_images, outcome.validation_images) == (8, 2)
    print(f"1-click mIoU {outcome.before['miou_1click']:.3f} -> {outcome.after['miou_1click']:.3f}, "
          f"NoC@85 {outcome.before['noc85']:.2f} -> {outcome.after['noc85']:.2f}")
    assert outcome.after["miou_1click"] > outcome.before["miou_1click"] + 0.05
    assert all(len(e.gates) == 4 and all(set(k) == {"lora", "prefix", "adapter"} for k in e.gates.values())
               for e in steps)
    assert all(0 < v < 1 for e in steps for kinds in e.gates.values() for v in kinds.values())
