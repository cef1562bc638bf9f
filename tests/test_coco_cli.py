"""`mopeft export` and `mopeft import` from the command line."""
import json
import re

import cv2
import numpy as np
from pycocotools.coco import COCO

from app.cli.main import main
from app.store import Project


def make_project(folder):
    cv2.imwrite(str(folder / "a.png"), np.zeros((10, 10), np.uint8))
    with Project.open(folder, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        ring = np.zeros((10, 10), bool)
        ring[1:9, 1:9] = True
        ring[4:6, 4:6] = False
        square = np.zeros((10, 10), bool)
        square[0:2, 8:10] = True
        project.instances.add(1, label.id, ring)
        project.instances.add(1, label.id, square)


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


def test_bench_export_prints_its_table(capsys):
    assert main(["bench", "export", "--images", "3", "--instances", "11", "--size", "40x30", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 images x 11 instances = 33 instances" in out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert {"export COCO, RLE", "export COCO, polygons", "export PNG masks"} <= set(rows)
    added, skipped, hashed = re.search(r"(\d+) annotations added, (\d+) identical ones skipped, (\d+) images",
                                       rows["import the RLE file into a new project"]).groups()
    assert (int(added) + int(skipped), int(hashed)) == (33, 3)
