"""`mopeft bench malloc` on the tiny model: one child per setting, a row per measure."""
import re

import pytest

from app import memory
from app.bench.malloc import MEASURES, PEAK
from app.cli.main import main


@pytest.mark.skipif(not memory.on_glibc(), reason="the malloc settings apply to glibc (Linux) only")
@pytest.mark.slow
def test_bench_malloc_table(capsys):
    assert main(["bench", "malloc", "--arch", "tiny", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "faults |" in line]
    assert [row.split(" | ")[0][2:] for row in rows] == list(MEASURES)
    for row in rows:
        assert re.search(r"\| [\d.]+ s, [\d,]+ faults \| [\d.]+ s, [\d,]+ faults \| [\d.]+x \|$", row), row
    assert any(re.fullmatch(rf"\| {PEAK} \| [\d.]+ GiB \| [\d.]+ GiB \| [\d.]+x \|", line) for line in lines)
