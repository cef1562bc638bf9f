"""Exports read one snapshot: a label and an instance the app adds during an export are left out, not half in."""
import json

import cv2
import numpy as np
import pytest

import app.coco.export as coco_export
import app.coco.png_export as png_export
from app.store import Project

MASK = np.zeros((8, 10), bool)
MASK[2:5, 3:7] = True


@pytest.fixture
def projects(tmp_path):
    """The app's writer Project (images a.png and b.png, one instance of 'cell' on each) and a read-only one."""
    for n, name in enumerate(("a.png", "b.png")):
        cv2.imwrite(str(tmp_path / name), np.full((8, 10), n, np.uint8))
    writer = Project.open(tmp_path, create=True)
    writer.images.scan()
    cell = writer.labels.add("cell")
    for image in writer.images.list():
        writer.instances.add(image.id, cell.id, MASK)
    reader = Project.open(tmp_path, readonly=True)
    yield writer, reader
    reader.close()
    writer.close()


def commit_on_first_call(monkeypatch, module, name, writer):
    """Make `module.name`'s first call commit, through the writer, a new label and an instance with it on b.png
    (an image the export reaches later); returns the list of calls."""
    original, calls = getattr(module, name), []

    def patched(*args, **kwargs):
        if not calls:
            label = writer.labels.add("added meanwhile")
            writer.instances.add(writer.images.find("b.png").id, label.id, MASK)
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, patched)
    return calls


def test_coco_export_holds_exactly_the_state_it_started_with(projects, tmp_path, monkeypatch):
    writer, reader = projects
    calls = commit_on_first_call(monkeypatch, coco_export, "segmentation_from_rle", writer)
    done = coco_export.export_coco(reader, tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    assert calls and done.annotations == 2
    assert [c["name"] for c in data["categories"]] == ["cell"]
    assert [(a["id"], a["image_id"], a["category_id"]) for a in data["annotations"]] == [(1, 1, 1), (2, 2, 1)]
    again = coco_export.export_coco(reader, tmp_path / "again.json")   # the change was committed: seen now
    assert again.annotations == 3


def test_png_export_holds_exactly_the_state_it_started_with(projects, tmp_path, monkeypatch):
    writer, reader = projects
    calls = commit_on_first_call(monkeypatch, png_export, "_write_png", writer)
    done = png_export.export_png(reader, tmp_path / "masks")
    legend = json.loads((tmp_path / "masks" / "mopeft_png_legend.json").read_text())
    assert calls and done.instances == 2
    assert [label["name"] for label in legend["labels"]] == ["cell"]
    assert [[i["instance_id"] for i in image["instances"]] for image in legend["images"]] == [[1], [2]]
    semantic = cv2.imread(str(tmp_path / "masks" / "semantic" / "b.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(semantic, MASK.astype(np.uint8))
