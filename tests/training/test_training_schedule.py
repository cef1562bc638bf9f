"""The one learning-rate schedule: warm-up, cosine decay to the floor, and both kinds of run use it."""
import math

import pytest

from app.training.finetune.loop import _lr_factor
from app.training.pretrain.run import PretrainConfig, learning_rate_factor
from app.training.schedule import warmup_cosine


def test_warm_up_is_linear_then_the_cosine_falls_to_the_floor_and_stays():
    factors = [warmup_cosine(s, 100, 10, 0.2) for s in range(120)]
    assert factors[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert factors[10] == pytest.approx(1.0)
    assert factors[55] == pytest.approx(0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[100:] == pytest.approx([0.2] * 20)


def test_fine_tuning_and_pretraining_follow_the_same_schedule_with_their_own_parameters():
    assert [_lr_factor(s, 200) for s in range(200)] == [warmup_cosine(s, 200, 10, 0.1) for s in range(200)]
    config = PretrainConfig(steps=300, warmup_steps=30, min_lr_ratio=0.05)
    assert [learning_rate_factor(s, config) for s in range(300)] == [warmup_cosine(s, 300, 30, 0.05)
                                                                      for s in range(300)]
