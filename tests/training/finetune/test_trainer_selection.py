"""KeepBest: held-out scoring during a run, and the best-scoring weights put back at the end."""
import pytest
import torch
from loop_setup import wrapped_and_prepared

from app.training.finetune.events import PhaseEvent, StepEvent
from app.training.finetune.loop import train_loop
from app.training.finetune.selection import KeepBest
from app.mopeft import MoPEFTConfig
from app.training.finetune.settings import TrainSettings


def _trainable(sam):
    return {n: p.detach().clone() for n, p in sam.named_parameters() if p.requires_grad}


def test_scores_when_due_and_after_the_last_step_ties_keep_the_earlier():
    module = torch.nn.Linear(2, 1)
    scores = iter([0.2, 0.5, 0.5])
    keep = KeepBest(lambda m: next(scores), every=2)
    seen = []
    for step in range(1, 6):
        with torch.no_grad():
            module.weight.fill_(step)
        seen.append(keep.after_step(module, step, 5))
    assert seen == [None, 0.2, None, 0.5, 0.5]  # steps 2 and 4, and 5: the last
    assert keep.restore(module) == 4 and torch.all(module.weight == 4)


def test_nothing_scored_leaves_the_model_as_it_is():
    module = torch.nn.Linear(2, 1)
    before = module.weight.detach().clone()
    assert KeepBest(lambda m: 1.0, every=10).restore(module) == 0
    assert torch.equal(module.weight, before)


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match="at least 1 step"):
        KeepBest(lambda m: 1.0, every=0)


@pytest.mark.slow
def test_training_ends_on_the_weights_of_the_best_held_out_score():
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=6)
    sam, data = wrapped_and_prepared(settings)
    snapshots = {}

    def score(model):  # the held-out score peaks at step 2: the run must end on step 2's weights
        step = len(snapshots) * 2 + 2
        snapshots[step] = _trainable(model)
        return -abs(step - 2)

    events = []
    assert train_loop(sam, data, settings, on_step=events.append, keep_best=KeepBest(score, every=2)) == 6
    assert sorted(snapshots) == [2, 4, 6]
    assert any(not torch.equal(snapshots[2][n], snapshots[6][n]) for n in snapshots[2])  # training moved on
    final = _trainable(sam)
    assert all(torch.equal(final[n], snapshots[2][n]) for n in final)
    phases = [e.message for e in events if isinstance(e, PhaseEvent)]
    assert phases == [f"step {s}: held-out 1-click mIoU {-abs(s - 2):.3f} (best 0.000 at step 2)" for s in (2, 4, 6)]
    assert sum(isinstance(e, StepEvent) for e in events) == 6
