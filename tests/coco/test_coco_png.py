"""PNG mask export: instance ids and label indices per pixel, 16-bit past 255 instances, and the legend."""
import json

import cv2
import numpy as np

from app.coco.png_export import export_png
from app.store import Project
from app.store.image_files import PNG_EXPORT_LEGEND


def read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_png_export_values_legend_and_bit_depth(tmp_path):
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    cv2.imwrite(str(project_dir / "a.png"), np.zeros((10, 12), np.uint8))
    cv2.imwrite(str(project_dir / "a.jpg"), np.zeros((20, 20), np.uint8))
    with Project.open(project_dir, create=True) as project:
        project.images.scan()
        cell, nucleus = project.labels.add("cell"), project.labels.add("nucleus")
        a, many = project.images.find("a.png"), project.images.find("a.jpg")
        first = np.zeros((10, 12), bool)
        first[0:5, 0:6] = True
        second = np.zeros((10, 12), bool)
        second[3:8, 4:10] = True         # overlaps the first: drawn on top
        ids = [project.instances.add(a.id, cell.id, first).id, project.instances.add(a.id, nucleus.id, second).id]
        with project.transaction():
            for n in range(300):
                pixel = np.zeros((20, 20), bool)
                pixel[n // 20, n % 20] = True
                project.instances.add(many.id, cell.id, pixel)
        project.labels.reorder([nucleus.id, cell.id])
        result = export_png(project, tmp_path / "masks")
    assert (result.images, result.instances, result.sixteen_bit_images) == (2, 302, 1)
    legend = json.loads((tmp_path / "masks" / PNG_EXPORT_LEGEND).read_text())
    assert [(lab["index"], lab["name"]) for lab in legend["labels"]] == [(1, "nucleus"), (2, "cell")]
    entry = next(e for e in legend["images"] if e["file_name"] == "a.png")
    assert entry["instances_png"] == "instances/a.png.png"        # a.png and a.jpg would both be a.png
    assert [(i["value"], i["instance_id"], i["label_index"]) for i in entry["instances"]] == [(1, ids[0], 2),
                                                                                            (2, ids[1], 1)]
    instance_map = read(tmp_path / "masks" / entry["instances_png"])
    semantic_map = read(tmp_path / "masks" / entry["semantic_png"])
    assert instance_map.dtype == np.uint8 and instance_map.shape == (10, 12)
    expected = np.zeros((10, 12), np.uint8)
    expected[first] = 1
    expected[second] = 2
    assert np.array_equal(instance_map, expected)
    assert np.array_equal(semantic_map, np.where(expected == 1, 2, np.where(expected == 2, 1, 0)))
    big_entry = next(e for e in legend["images"] if e["file_name"] == "a.jpg")
    big = read(tmp_path / "masks" / big_entry["instances_png"])
    assert big.dtype == np.uint16 and big_entry["instances_bit_depth"] == 16
    assert sorted(np.unique(big).tolist()) == list(range(0, 301))


def test_a_png_export_inside_the_project_is_not_scanned_as_images(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4), np.uint8))
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        export_png(project, tmp_path / "masks")
        assert (tmp_path / "masks" / "instances" / "a.png").is_file()
        assert project.images.scan().added == []
