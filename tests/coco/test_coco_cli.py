"""`mopeft export` and `mopeft import` from the command line."""
import pytest
import json
import re

import cv2
import numpy as np
from pycocotools.coco import COCO

from app.cli.main import main
from app.coco.export_job import changed_images_warning
from app.store import Image, ImageCheck, ImageStatus, Project
from coco_projects import make_project


def test_export_coco_rle_and_polygons_while_the_project_is_open_for_writing(tmp_path, capsys):
    make_project(tmp_path)
    with Project.open(tmp_path):      # the app has it open: export reads it read-only
        assert main(["export", "--project", str(tmp_path), "--format", "coco", "--out", str(tmp_path / "r.json")]) == 0
        assert "1 images, 2 annotations (RLE)" in capsys.readouterr().out
        assert main(["export", "--project", str(tmp_path), "--out", str(tmp_path / "p.json"), "--polygons"]) == 0
        captured = capsys.readouterr()
        assert "1 instance(s) have holes" in captured.err and ": 1" in captured.err
    coco = COCO(str(tmp_path / "p.json"))
    assert isinstance(coco.anns[1]["segmentation"], dict) and isinstance(coco.anns[2]["segmentation"], list)


def test_export_png_and_errors(tmp_path, capsys):
    make_project(tmp_path)
    assert main(["export", "--project", str(tmp_path), "--format", "png", "--out", str(tmp_path / "m")]) == 0
    assert (tmp_path / "m" / "semantic" / "a.png").is_file()
    assert main(["export", "--project", str(tmp_path / "m"), "--out", str(tmp_path / "x.json")]) == 1
    assert "holds no MoPEFT project" in capsys.readouterr().err


def test_export_warns_about_changed_missing_and_moved_images_and_still_exports(tmp_path, capsys):
    make_project(tmp_path)
    for value, name in enumerate(("b.png", "c.png"), start=1):
        cv2.imwrite(str(tmp_path / name), np.full((10, 10), value, np.uint8))
    with Project.open(tmp_path) as project:
        project.images.scan()
    export = ["export", "--project", str(tmp_path), "--out", str(tmp_path / "out.json")]
    assert main(export) == 0
    assert capsys.readouterr().err == ""
    cv2.imwrite(str(tmp_path / "a.png"), np.full((10, 10), 9, np.uint8))
    (tmp_path / "b.png").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "c.png").rename(tmp_path / "sub" / "c.png")
    assert main(export) == 0
    err = capsys.readouterr().err
    assert "warning: 3 image file(s) differ from what the project recorded: a.png (changed), b.png (missing), " \
           "c.png (moved to sub/c.png). Their masks were drawn on the file content recorded" in err
    assert len(json.loads((tmp_path / "out.json").read_text())["annotations"]) == 2


def test_the_changed_images_warning_lists_twenty_names_then_a_count():
    changed = [Image(n, f"im{n:02d}.png", 10, 10, "hash", ImageStatus.NEW, "") for n in range(23)]
    err = changed_images_warning(ImageCheck(missing=[], changed=changed, moved=[]))
    assert "warning: 23 image file(s)" in err and "im19.png (changed) and 3 more." in err and "im20" not in err


@pytest.mark.slow
def test_import_creates_the_project_and_reports_what_it_added(tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    make_project(source)
    assert main(["export", "--project", str(source), "--out", str(tmp_path / "coco.json")]) == 0
    target = tmp_path / "target"
    target.mkdir()
    cv2.imwrite(str(target / "a.png"), np.zeros((10, 10), np.uint8))
    assert main(["import", "--project", str(target), str(tmp_path / "coco.json")]) == 0
    assert "imported 2 annotations" in capsys.readouterr().out
    with Project.open(target, readonly=True) as project:
        assert project.instances.counts_per_image() == {1: 2}
    data = json.loads((tmp_path / "coco.json").read_text())
    data["annotations"][1]["image_id"] = 42
    (tmp_path / "bad.json").write_text(json.dumps(data))
    assert main(["import", "--project", str(target), str(tmp_path / "bad.json")]) == 1
    assert "bad.json: annotation 2: refers to image id 42" in capsys.readouterr().err


def test_a_failed_import_into_a_folder_without_a_project_leaves_no_project_behind(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((10, 10), np.uint8))
    (tmp_path / "bad.json").write_text('{"images": [{"id": 1, "file_name": "missing.png"}]}')
    command = ["import", "--project", str(tmp_path), str(tmp_path / "bad.json")]
    assert main(command) == 1
    assert "bad.json: image 1: missing.png: not found in the project folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "bad.json"]
    Project.open(tmp_path, create=True).close()       # a project that was there, even empty, is kept
    assert main(command) == 1
    assert (tmp_path / ".mopeft" / "project.db").is_file()


@pytest.mark.slow
def test_bench_export_prints_its_table(capsys):
    assert main(["bench", "export", "--images", "3", "--instances", "11", "--size", "40x30", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 images x 11 instances = 33 instances" in out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert "| step | time | peak traced memory (MiB) | peak RSS growth (MiB) | notes |" in out
    measured = ["export COCO, RLE", "export COCO, polygons", "export PNG masks",
                "import the RLE file into a new project"]
    assert set(measured) <= set(rows)
    assert all(float(rows[step].split("|")[4]) >= 0 for step in measured)   # measured in a fresh process each
    added, skipped, hashed = re.search(r"(\d+) annotations added, (\d+) identical ones skipped, (\d+) images",
                                       rows["import the RLE file into a new project"]).groups()
    assert (int(added) + int(skipped), int(hashed)) == (33, 3)
