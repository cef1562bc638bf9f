"""Store -> COCO file -> pycocotools -> masks: exact for RLE, IoU >= 0.95 for polygons (holes kept as RLE)."""
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from app.coco.errors import CocoError
from app.coco.export import export_coco
from app.coco.segmentation import HOLES
from app.coco.writer import write_coco
from app.store import Project

H, W = 24, 32


def shapes() -> dict[str, np.ndarray]:
    """Masks that trip exporters up: holes, several parts, the image border, single pixels, thin lines."""
    ring = np.zeros((H, W), bool)
    ring[4:16, 4:16] = True
    ring[7:12, 7:12] = False
    parts = np.zeros((H, W), bool)
    parts[1:4, 20:30] = True
    parts[18:22, 2:6] = True
    parts[10, 25] = True
    border = np.zeros((H, W), bool)
    border[:, W - 3:] = True
    border[H - 1, :] = True
    pixel = np.zeros((H, W), bool)
    pixel[0, 0] = True
    diagonal = np.zeros((H, W), bool)
    diagonal[np.arange(12), np.arange(12) + 10] = True
    blob = cv2.GaussianBlur(np.random.default_rng(3).random((H, W)), (0, 0), 2) > 0.5
    return {"ring": ring, "parts": parts, "border": border, "pixel": pixel, "diagonal": diagonal, "blob": blob}


@pytest.fixture
def project(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((H, W), np.uint8))
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "b.jpg"), np.zeros((W, H), np.uint8))
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        cell, nucleus = project.labels.add("cell"), project.labels.add("nucleus")
        a = project.images.find("a.png")
        for n, mask in enumerate(shapes().values()):
            project.instances.add(a.id, (cell, nucleus)[n % 2].id, mask)
        project.instances.add(project.images.find("sub/b.jpg").id, nucleus.id, shapes()["parts"].T.copy())
        yield project


def stored_masks(project):
    return {i.id: i.mask for image in project.images.list() for i in project.instances.for_image(image.id)}


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_rle_export_decodes_to_the_stored_masks_exactly(project, tmp_path):
    out = tmp_path / "out" / "coco.json"
    out.parent.mkdir()
    result = export_coco(project, out)
    assert (result.images, result.annotations, result.kept_as_rle) == (2, 7, [])
    coco = COCO(str(out))
    masks = stored_masks(project)
    assert sorted(coco.getAnnIds()) == sorted(masks)
    for annotation in coco.loadAnns(coco.getAnnIds()):
        assert isinstance(annotation["segmentation"]["counts"], str)
        assert np.array_equal(coco.annToMask(annotation).astype(bool), masks[annotation["id"]])
        assert annotation["area"] == masks[annotation["id"]].sum()
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cell", "nucleus"]
    assert {im["file_name"] for im in coco.loadImgs(coco.getImgIds())} == {"a.png", "sub/b.jpg"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["coco.json"]   # no temporary file left


def test_polygon_export_keeps_holes_as_rle_and_draws_the_rest(project, tmp_path):
    out = tmp_path / "poly.json"
    result = export_coco(project, out, polygons=True)
    masks = stored_masks(project)
    ring_id = next(i for i, m in masks.items() if np.array_equal(m, shapes()["ring"]))
    assert (ring_id, HOLES) in result.kept_as_rle
    coco = COCO(str(out))
    for annotation in coco.loadAnns(coco.getAnnIds()):
        expected = masks[annotation["id"]]
        decoded = coco.annToMask(annotation).astype(bool)
        assert iou(decoded, expected) >= 0.95
        if (annotation["id"], HOLES) in result.kept_as_rle:
            assert isinstance(annotation["segmentation"], dict)
            assert np.array_equal(decoded, expected)
        else:
            assert isinstance(annotation["segmentation"], list)
    parts_id = next(i for i, m in masks.items() if np.array_equal(m, shapes()["parts"]))
    assert len(coco.anns[parts_id]["segmentation"]) == 3


def test_file_holds_only_plain_json_and_bbox_matches_pycocotools(project, tmp_path):
    out = tmp_path / "coco.json"
    export_coco(project, out)
    data = json.loads(out.read_text())

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    assert plain(data)
    coco = COCO(str(out))
    for annotation in data["annotations"]:
        assert annotation["bbox"] == [int(v) for v in mask_utils.toBbox(annotation["segmentation"])]
        assert annotation["iscrowd"] == 0 and annotation["area"] == coco.annToMask(annotation).sum()


def test_failed_write_leaves_the_previous_file_whole(tmp_path):
    out = tmp_path / "coco.json"
    write_coco([{"id": 1, "file_name": "a.png", "width": 2, "height": 2}], [], [], out)
    before = out.read_bytes()
    with pytest.raises(CocoError, match="annotations record 7 is not plain JSON"):
        write_coco([], [], [{"id": 7, "area": np.int64(3)}], out)
    with pytest.raises(CocoError, match="not plain JSON"):
        write_coco([], [], [{"id": 8, "area": float("nan")}], out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["coco.json"]
    assert json.loads(before)["images"][0]["file_name"] == "a.png"
