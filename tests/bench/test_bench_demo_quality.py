"""`mopeft bench demo`: every measure of the demo-model goals, each with its goal and whether it is met."""
import json

import pytest

from app.bench.demo_quality import GOALS
from app.cli.main import main
from app.sam.checkpoints import CHECKPOINTS


@pytest.mark.slow
def test_a_tiny_run_prints_every_measure_against_its_goal(capsys):
    assert main(["bench", "demo", "--scenes", "1", "--large-scenes", "1", "--json"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    result = json.loads(lines[-1])
    for name in GOALS:
        row = next(line for line in lines if line.startswith(name))
        assert row.rstrip().endswith(("met", "NOT met")), row
        assert 0 <= result[name] < 100
    assert 0 < result["shapes 1-click mIoU"] <= result["shapes best-candidate mIoU"] <= 1
    assert result["weights MB"] == pytest.approx(CHECKPOINTS["demo"].path.stat().st_size / 1e6)


def test_bad_counts_are_refused(capsys):
    assert main(["bench", "demo", "--scenes", "0"]) == 2
    assert "--scenes" in capsys.readouterr().out
