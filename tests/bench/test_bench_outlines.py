"""`mopeft bench outlines` on a small ragged mask: both ways drawn, a row per GUI-thread measure."""
import pytest
import re

from app.cli.main import main


@pytest.mark.slow
def test_bench_outlines_table(capsys):
    assert main(["bench", "outlines", "--size", "200", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.fullmatch(r"\| [a-z ]+ \| \d+ ms \| \d+ ms \| [\d.]+x \|", line)]
    assert [r.split(" | ")[0][2:] for r in rows] == ["set the outline and paint", "hover it and paint"]
    polygons = int(re.search(r"([\d,]+) polygons", out).group(1).replace(",", ""))
    assert polygons > 100
