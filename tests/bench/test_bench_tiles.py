"""`mopeft bench tiles` on the tiny model and two small sides: a row per side with its tile count."""
import re

import pytest

from app.bench.tiles import write_tiff
from app.cli.main import main
from app.tiles import TileGrid
from app.tiles.tiff_source import TiffSource


@pytest.mark.slow
def test_bench_tiles_table(capsys, tmp_path):
    assert main(["bench", "tiles", "--arch", "tiny", "--sides", "300", "700", "--prefetch", "1",
                 "--points-per-side", "4", "--folder", str(tmp_path)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"\| [\d,]+ \| [\d,]+ \|", line)]
    assert [r.split(" | ")[0] for r in rows] == ["| 300", "| 700"]
    assert [int(r.split(" | ")[1]) for r in rows] == [len(TileGrid(s, s, 128, 32).tiles) for s in (300, 700)]


def test_the_test_image_is_written_tile_by_tile(tmp_path):
    write_tiff(tmp_path / "t.tif", 600, tile=256)
    source = TiffSource(tmp_path / "t.tif")
    assert source.size == (600, 600) and source.region(0, 0, 600, 600).shape == (600, 600, 3)
