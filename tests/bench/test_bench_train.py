"""`mopeft bench train` prints the trainer's speed on both paths (tiny SAM 1 and SAM 2.1, a few steps)."""
import pytest
import shutil

from app.cli.main import main
from fixture_paths import TINY_SAM as FIXTURE


@pytest.mark.slow
def test_prints_steps_per_second_for_the_full_and_cached_paths(tmp_path, capsys):
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    assert main(["bench", "train", "--model", str(model), "--images", "2", "--steps", "1", "--repeat", "1",
                 "--cached-blocks", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert rows["full"].split("|")[2].strip() == "all" and rows["cached"].split("|")[2].strip() == "last:2"
    assert float(rows["cached"].split("|")[5]) > 0 and "speed-up cached vs full" in rows


@pytest.mark.slow
def test_runs_a_sam2_model_on_random_weights_when_it_has_no_checkpoint(capsys):
    assert main(["bench", "train", "--model", "sam2_tiny", "--images", "1", "--steps", "1", "--repeat", "1",
                 "--cached-blocks", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert "sam2_tiny (random weights)" in out and rows["cached"].split("|")[2].strip() == "last:3"
    assert float(rows["cached"].split("|")[5]) > 0
