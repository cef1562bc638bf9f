"""`mopeft bench ui-stall` times the real window's event loop through an embedding, a click, proposals on the image,
a fine-tuning run and panning a large tiled TIFF."""
import re

import pytest

from app.cli.main import main


@pytest.mark.slow
def test_prints_one_row_per_phase_with_the_longest_gap(qapp, capsys):
    assert main(["bench", "ui-stall", "--arch", "tiny", "--train-arch", "tiny", "--steps", "1", "--size", "64",
                 "--propose-points", "4", "--pan-side", "2560"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mopeft bench ui-stall --arch tiny --train-arch tiny --steps 1 --size 64 --propose-points 4")
    rows = [line.split("|")[1:-1] for line in out.splitlines()[3:] if line.startswith("| ")]
    assert [row[0].split(":")[0].strip() for row in rows[:4]] == ["tiny"] * 4
    pan = re.fullmatch(r"pan a 2560² tiled TIFF at 100 %, 200 steps, (\d+) tiles decoded", rows[4][0].strip())
    assert pan and int(pan.group(1)) > 0 and int(rows[4][2]) > 0   # tiles came from the decoder thread
    assert "propose on the image, 4² points (" in rows[2][0] and "proposal(s) on 1 image(s)" in rows[2][0]
    assert "fine-tune 1 steps" in rows[3][0]
    for _, _, beats, longest, _ in rows:   # a phase shorter than a heartbeat has no gap to show
        assert float(longest) >= 0 if int(beats) else longest.strip() == "–"
    frozen, unfrozen = (float(ms) for ms in re.search(r"gc.collect\(\) on the GUI thread: (\d+) ms with .*, (\d+) ms "
                                                     r"without", out).groups())
    assert frozen <= unfrozen
