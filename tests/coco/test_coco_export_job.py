"""`run_export`, which `mopeft export` and the window share: progress per image, and a cancel that leaves a COCO
target as it was and a PNG folder marked as an incomplete export."""
import json

import cv2
import numpy as np
import pytest

from app.coco.errors import ExportCancelled
from app.coco.export_job import run_export
from app.store import Project
from app.store.image_files import PNG_EXPORT_LEGEND


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    for n in range(4):
        cv2.imwrite(str(folder / f"im{n}.png"), np.full((12, 12), n * 20, np.uint8))
    with Project.open(folder, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        for image in project.images.list():
            mask = np.zeros((12, 12), bool)
            mask[2:6, 2:6] = True
            project.instances.add(image.id, label.id, mask)
        yield project


@pytest.mark.parametrize("fmt", ["coco", "coco-polygons", "png"])
def test_progress_is_reported_per_image(project, tmp_path, fmt):
    seen = []
    done = run_export(project, tmp_path / "out", fmt, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert done.target == tmp_path / "out" and done.summary.startswith(f"wrote {tmp_path / 'out'}: 4 images")


def test_a_cancelled_coco_export_leaves_the_old_file_as_it_was(project, tmp_path):
    target = tmp_path / "instances.json"
    target.write_text("the previous export")
    seen = []
    with pytest.raises(ExportCancelled):
        run_export(project, target, "coco", progress=lambda d, t: seen.append(d), cancel=lambda: len(seen) >= 2)
    assert seen == [1, 2] and target.read_text() == "the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["project", "instances.json"]   # no temporary file left


def test_a_cancelled_png_export_is_marked_incomplete_and_stays_out_of_scans(project):
    target = project.folder / "masks"
    seen = []
    with pytest.raises(ExportCancelled):
        run_export(project, target, "png", progress=lambda d, t: seen.append(d), cancel=lambda: len(seen) >= 2)
    legend = json.loads((target / PNG_EXPORT_LEGEND).read_text())
    assert legend["complete"] is False and legend["images"] == []
    assert sorted(p.name for p in (target / "instances").iterdir()) == ["im0.png", "im1.png"]
    assert project.images.scan().added == []
    run_export(project, target, "png")
    legend = json.loads((target / PNG_EXPORT_LEGEND).read_text())
    assert legend["complete"] is True and len(legend["images"]) == 4
