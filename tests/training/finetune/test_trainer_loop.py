"""The training loop: step events with gates, cancel, non-finite loss and out-of-memory handling."""
import numpy as np
import pytest
import torch

import app.training.finetune.loop as loop
from app.mopeft import MoPEFTConfig, before_step
from app.mopeft.kinds.bottleneck import BottleneckConfig
from app.training.finetune.events import TrainingCancelled, TrainingError
from app.training.finetune.loop import train_loop
from app.training.finetune.settings import TrainSettings
from loop_setup import wrapped_and_prepared


@pytest.mark.slow
def test_each_step_reports_loss_and_one_gate_per_block_and_kind():
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=4)
    sam, data = wrapped_and_prepared(settings)
    assert data[0].tokens.shape == (1, 8, 8, 64)  # cached output of the two frozen blocks
    events = []
    assert train_loop(sam, data, settings, on_step=events.append) == 4
    assert [e.step for e in events] == [1, 2, 3, 4]
    for e in events:
        assert np.isfinite(e.loss) and e.lr > 0 and e.eta_seconds >= 0
        assert sorted(e.gates) == ["blocks.2", "blocks.3"]
        assert all(set(kinds) == {"lora", "prefix", "adapter"} for kinds in e.gates.values())
        assert all(0 < v < 1 for kinds in e.gates.values() for v in kinds.values())
    assert events[-1].eta_seconds == 0


@pytest.mark.slow
def test_training_moves_only_peft_parameters():
    settings = TrainSettings(MoPEFTConfig(["adapter"], blocks="all"), steps=3)
    sam, data = wrapped_and_prepared(settings)
    before = {k: v.clone() for k, v in sam.state_dict().items()}
    train_loop(sam, data, settings)
    changed = {k for k, v in sam.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".peft." in k for k in changed)


@pytest.mark.slow
def test_cancel_is_honoured_before_the_next_step():
    settings = TrainSettings(steps=50)
    sam, data = wrapped_and_prepared(settings)
    events = []
    with pytest.raises(TrainingCancelled, match="after 2 of 50"):
        train_loop(sam, data, settings, on_step=events.append, cancel=lambda: len(events) >= 2)
    assert len(events) == 2


@pytest.mark.slow
def test_non_finite_loss_stops_with_a_clear_message(monkeypatch):
    settings = TrainSettings(steps=5)
    sam, data = wrapped_and_prepared(settings)
    real = loop.interactive_loss

    def poisoned(*args, **kwargs):
        result = real(*args, **kwargs)
        result.loss = result.loss * float("nan")
        return result

    monkeypatch.setattr(loop, "interactive_loss", poisoned)
    with pytest.raises(TrainingError, match="loss became nan at step 1"):
        train_loop(sam, data, settings)


@pytest.mark.slow
def test_out_of_memory_retries_with_a_smaller_batch(monkeypatch):
    settings = TrainSettings(steps=2, images_per_step=2)
    sam, data = wrapped_and_prepared(settings)
    real, calls = loop.interactive_loss, []

    def flaky(sam_, embeddings, targets, *args, **kwargs):
        calls.append(len(targets))
        if len(targets) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(sam_, embeddings, targets, *args, **kwargs)

    monkeypatch.setattr(loop, "interactive_loss", flaky)
    events = []
    assert train_loop(sam, data, settings, on_step=events.append) == 2
    assert calls[0] == 2 and all(e.batch_images == 1 for e in events)


@pytest.mark.slow
def test_out_of_memory_at_the_smallest_batch_stops_cleanly(monkeypatch):
    settings = TrainSettings(steps=2, images_per_step=1, objects_per_image=1)
    sam, data = wrapped_and_prepared(settings)

    def always(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(loop, "interactive_loss", always)
    with pytest.raises(TrainingError, match="out of GPU memory even with one image"):
        train_loop(sam, data, settings)


def test_kind_learning_rates_scale_each_kinds_parameters(monkeypatch):
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=1, lr=1e-3, kind_lr={"prefix": 10.0, "adapter": 0.5})
    sam, _ = wrapped_and_prepared(settings)
    by_scale = _names_by_scale(sam, settings)
    assert set(by_scale) == {1.0, 10.0, 0.5}
    assert all(".peft.prefix." in n for n in by_scale[10.0])
    assert all(".peft.adapter." in n for n in by_scale[0.5])
    assert all(".peft.lora." in n for n in by_scale[1.0])
    assert sum(len(s) for s in by_scale.values()) == sum(p.requires_grad for p in sam.parameters())

    settings.kind_lr["gate"] = 0.25  # every kind's gates move to their own rate; the rest keep their kind's
    gated = _names_by_scale(sam, settings)
    assert gated[0.25] and all(".gates." in n for n in gated[0.25])
    assert {k for n in gated[0.25] for k in ("lora", "prefix", "adapter") if f".peft.{k}." in n} == {
        "lora", "prefix", "adapter"}
    assert gated[10.0] == {n for n in by_scale[10.0] if ".gates." not in n}


def _names_by_scale(sam, settings):
    names = {id(p): n for n, p in sam.named_parameters()}
    return {g["lr_scale"]: {names[id(p)] for p in g["params"]} for g in loop._param_groups(sam, settings)}


@pytest.mark.slow
def test_gate_bias_sets_where_the_gates_start():
    low = TrainSettings(MoPEFTConfig(blocks="last:2", gate_bias=-3.0))
    sam, data = wrapped_and_prepared(low)
    with torch.no_grad():
        sam.image_encoder(torch.randn(1, 3, 128, 128))
    from app.mopeft import gate_values

    values = [v for kinds in gate_values(sam).values() for v in kinds.values()]
    assert values and all(0.0 < v < 0.2 for v in values)  # sigmoid(-3) = 0.047, plus the weights' noise


def _adapter_dropouts(sam):
    from app.mopeft.kinds.bottleneck import Bottleneck

    return {m.dropout for m in sam.modules() if isinstance(m, Bottleneck)}


@pytest.mark.slow
def test_adapter_dropout_starts_after_the_first_quarter_of_the_steps():
    settings = TrainSettings.from_dict({"blocks": "last:2", "steps": 8, "adapter_dropout": 0.4})
    sam, data = wrapped_and_prepared(settings)
    during = []  # the dropout each step trained with (set before the step, read in its event)
    train_loop(sam, data, settings, on_step=lambda e: during.append(_adapter_dropouts(sam)))
    assert during == [{0.0}] * 2 + [{0.4}] * 6
    assert _adapter_dropouts(sam) == {0.0} and not sam.training


@pytest.mark.slow
def test_adapter_dropout_acts_in_training_mode_only():
    settings = TrainSettings(MoPEFTConfig(["adapter"], blocks="last:2"))
    sam, data = wrapped_and_prepared(settings)
    for name, param in sam.named_parameters():
        if ".peft.adapter.up." in name:
            torch.nn.init.normal_(param, std=0.5)  # a trained adapter: its output depends on every unit

    def embed(train: bool, p: float):
        sam.train(train)
        before_step(sam, MoPEFTConfig({"adapter": BottleneckConfig(dropout=p)}, blocks="last:2"), 1, 1)
        torch.manual_seed(0)
        with torch.no_grad():
            return loop._embeddings(sam, [data[0]])

    plain = embed(False, 0.0)
    assert torch.equal(embed(False, 0.5), plain)
    assert torch.equal(embed(True, 0.0), plain)
    assert not torch.allclose(embed(True, 0.5), plain, atol=1e-4)


@pytest.mark.parametrize("p", [-0.1, 1.0, float("nan")])
def test_adapter_dropout_outside_0_to_1_is_refused(p):
    with pytest.raises(ValueError, match="adapter_dropout"):
        TrainSettings.from_dict({"adapter_dropout": p})
