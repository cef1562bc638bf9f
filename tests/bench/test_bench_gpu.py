"""`mopeft bench gpu`: refused without CUDA, its report, and its measurements run once on the CPU with a tiny SAM
(the CUDA timers and memory counters stubbed) so that a GPU session does not find their mistakes first."""
import json
import math

import pytest
import torch

import app.bench.gpu as gpu
from app.bench.gpu import Figure, fine_tuning_examples, write_report
from app.cli.main import main
from app.mopeft import MoPEFTConfig
from app.training.finetune.settings import TrainSettings

ABOUT = {"command": "mopeft bench gpu --arch vit_b", "gpu": "NVIDIA H200", "torch": "2.14.1"}


def test_without_cuda_it_refuses_in_one_line_and_measures_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "gpu", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: mopeft bench gpu needs a CUDA GPU") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_report_is_one_table_against_the_goals_and_the_same_json(tmp_path):
    figures = [Figure("embedding", 21.5, "ms", 30.0), Figure("fine-tuning: wall time", 75.0, "s", 60.0),
               Figure("prompt -> 3 masks, p50", 4.25, "ms")]
    markdown, data = write_report(tmp_path / "new", figures, ABOUT)
    lines = markdown.read_text().splitlines()
    assert lines[0] == "command: mopeft bench gpu --arch vit_b; gpu: NVIDIA H200; torch: 2.14.1"
    assert lines[2:] == ["| measure | value | goal | met? |", "|---|---|---|---|",
                         "| embedding | 21.5 ms | <= 30 ms | yes |",
                         "| fine-tuning: wall time | 75 s | <= 60 s | **no** |",
                         "| prompt -> 3 masks, p50 | 4.25 ms |  |  |"]
    report = json.loads(data.read_text())
    assert report["about"] == ABOUT
    assert report["figures"][1] == {"measure": "fine-tuning: wall time", "value": 75.0, "unit": "s", "goal": 60.0,
                                    "met": False}
    assert report["figures"][2]["goal"] is None and report["figures"][2]["met"] is None


def test_the_fine_tuning_run_gets_20_instances_at_most_4_per_image():
    examples = fine_tuning_examples(side=128)
    assert sum(len(e.masks) for e in examples) == 20 and all(1 <= len(e.masks) <= 4 for e in examples)
    assert all(e.rgb.shape == (128, 128, 3) for e in examples)


@pytest.fixture
def cuda_counters(monkeypatch):
    """torch.cuda's timer and memory counters as no-ops and zeros, so the measurements run on the CPU."""
    for name in ("synchronize", "reset_peak_memory_stats"):
        monkeypatch.setattr(torch.cuda, name, lambda *args: None)
    for name in ("max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved"):
        monkeypatch.setattr(torch.cuda, name, lambda *args: 0)


@pytest.mark.slow
def test_the_measurements_run_through_on_a_tiny_sam(cuda_counters, tmp_path):
    cpu = torch.device("cpu")
    figures = gpu.measure_engine("tiny", cpu)
    figures += gpu.measure_fine_tuning("tiny", cpu, TrainSettings(MoPEFTConfig(blocks="last:2"), steps=3))
    figures += gpu.measure_embed_command("tiny", cpu, count=6)
    # finite, not positive: a tiny SAM embeds 2 more images within the noise of starting `mopeft embed` here
    assert all(math.isfinite(f.value) for f in figures) and len({f.measure for f in figures}) == len(figures)
    goals = {f.goal: f.unit for f in figures if f.goal is not None}
    assert goals == {30.0: "ms", 60.0: "s", 8.0: "GB"}
    assert "20 instances" in figures[6].measure and "3 steps" in figures[6].measure
    markdown, _ = write_report(tmp_path, figures, ABOUT)
    assert len(markdown.read_text().splitlines()) == 4 + len(figures)


def test_with_cuda_it_writes_gpu_md_and_gpu_json(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *args: "Fake H200")
    for name in ("measure_engine", "measure_fine_tuning", "measure_embed_command"):
        monkeypatch.setattr(gpu, name, lambda *args, name=name: [Figure(name, 1.0, "s", 2.0)])
    assert main(["bench", "gpu", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "gpu: Fake H200" in out and "| measure_fine_tuning | 1 s | <= 2 s | yes |" in out
    assert json.loads((tmp_path / "gpu.json").read_text())["about"]["arch"] == "vit_b (random weights)"
    assert (tmp_path / "gpu.md").read_text() == out
