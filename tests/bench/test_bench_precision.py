"""`mopeft bench precision`: one table with fp32 and bf16 side by side, and what the CPU can do."""
import pytest
from app.cli.main import main


@pytest.mark.slow
def test_one_row_per_measure_with_both_precisions_and_their_ratio(capsys):
    assert main(["bench", "precision", "--archs", "tiny", "--repeat", "1", "--prompts", "2", "--train-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "CPU bfloat16 units: " in out and "auto picks fp32" in out
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in out.splitlines() if line.startswith("| ")}
    for measure in ("embedding, s (median)", "prompt -> 3 masks, ms (mean)", "fine-tuning step (last:4, 2 images), s"):
        fp32, bf16, ratio = (cell.strip() for cell in rows[measure])
        assert float(fp32) > 0 and float(bf16) > 0 and ratio.endswith("x")
    agreement = rows["mask IoU bf16 vs fp32 (goal >= 0.99)"]
    assert agreement[1].strip().startswith("mean ") and "of 6 masks >= 0.99" in agreement[2]


def test_an_unknown_model_is_refused(capsys):
    assert main(["bench", "precision", "--archs", "vit_q"]) == 2
    assert "unknown model 'vit_q'" in capsys.readouterr().err
