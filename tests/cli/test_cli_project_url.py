"""Every `--project` takes a postgresql:// URL with `--images-root`: import into a new database project, export it,
and a failed import leaves the database without a project."""
import pytest
import json
import shutil

import numpy as np
from PIL import Image as PILImage

from app.cli.main import main
from app.store import Project


@pytest.mark.slow
def test_import_and_export_through_a_database_url(pg_server, tmp_path, capsys):
    folder = tmp_path / "cells"
    folder.mkdir()
    PILImage.new("RGB", (30, 20)).save(folder / "a.png")
    with Project.open(folder, create=True) as project:
        project.images.scan()
        mask = np.zeros((20, 30), bool)
        mask[3:9, 4:12] = True
        project.instances.add(1, project.labels.add("cell").id, mask)
    assert main(["export", "--project", str(folder), "--out", str(tmp_path / "a.json")]) == 0
    shared = tmp_path / "share" / "cells"
    shutil.copytree(folder, shared, ignore=shutil.ignore_patterns(".mopeft"))
    url = pg_server.new_database()
    assert main(["import", "--project", url, "--images-root", str(shared), str(tmp_path / "a.json")]) == 0
    assert main(["export", "--project", url, "--out", str(tmp_path / "b.json")]) == 0
    capsys.readouterr()
    before, after = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    assert after["annotations"] == before["annotations"] and after["categories"] == before["categories"]

    assert main(["export", "--project", str(folder), "--images-root", str(shared), "--out", "x.json"]) == 1
    assert "--images-root is for a project on a database" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{")
    empty = pg_server.new_database()
    assert main(["import", "--project", empty, "--images-root", str(shared), str(tmp_path / "broken.json")]) == 1
    assert main(["export", "--project", empty, "--out", str(tmp_path / "c.json")]) == 1
    assert "holds no MoPEFT project" in capsys.readouterr().err      # the failed import left none behind
