"""`mopeft bench auto`: one row per model with both times, their ratio, the mask counts and their agreement."""
import pytest
from app.cli.main import main


@pytest.mark.slow
def test_one_row_per_model_with_times_ratio_counts_and_agreement(capsys):
    assert main(["bench", "auto", "--archs", "tiny", "demo", "--points-per-side", "4", "--size", "96"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ") and "thresholds" not in line]
    assert [r[0].strip() for r in rows] == ["tiny (random weights)", "demo"]
    for model, thresholds, reference, ours, ratio, counts, agreement in rows:
        assert float(reference) > 0 and float(ours) > 0 and ratio.strip().endswith("x")
        n_ref, n_ours = (int(n) for n in counts.split("/"))
        assert n_ref == n_ours
        assert agreement.strip() == "no masks" or "100% >= 0.99" in agreement
    assert "pred_iou_thresh 0," in rows[0][1] and "pred_iou_thresh 0.3" in rows[1][1]


def test_an_unknown_model_is_refused(capsys):
    assert main(["bench", "auto", "--archs", "vit_q"]) == 2
    assert "unknown model 'vit_q'" in capsys.readouterr().err
