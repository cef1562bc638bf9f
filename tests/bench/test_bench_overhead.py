"""`mopeft bench overhead` prints its whole table (figures are not judged here: benchmarks, not tests)."""
import pytest
from app.cli.main import main


@pytest.mark.slow
def test_overhead_benchmark_prints_every_row(capsys):
    assert main(["bench", "overhead", "--arch", "tiny", "--repeat", "1", "--cached-blocks", "2"]) == 0
    out = capsys.readouterr().out
    for row in ["ratio wrapped / plain", "trainable parameters, lora", "trainable parameters, prefix",
                "trainable parameters, adapter", "training step, cached last:2 path", "speed-up cached vs full",
                "last:2 without the cache", "speed-up of the cache alone"]:
        assert row in out


@pytest.mark.slow
def test_overhead_benchmark_runs_a_sam2_model(capsys):
    assert main(["bench", "overhead", "--arch", "sam2_tiny", "--repeat", "1", "--cached-blocks", "2"]) == 0
    out = capsys.readouterr().out
    assert "encoder forward, plain SAM (128x128)" in out and "training step, cached last:2 path" in out
    assert main(["bench", "overhead", "--arch", "vit_q"]) == 2
    assert "unknown SAM variant 'vit_q'" in capsys.readouterr().err
