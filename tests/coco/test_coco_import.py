"""Importing COCO files written by pycocotools (compressed RLE, uncompressed RLE, polygons) and refusing bad ones."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from app.coco.errors import CocoError
from app.coco.export import export_coco
from app.coco.importer import import_coco
from app.store import InstanceSource, Project

H, W = 20, 30


def box(y0, y1, x0, x1):
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def uncompressed(mask):
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
    return {"size": [H, W], "counts": ([0] + runs) if flat[0] else runs}


RING = box(2, 12, 2, 12) & ~box(5, 8, 5, 8)
PARTS = box(0, 3, 20, 30) | box(15, 20, 0, 4)
SQUARE = box(10, 16, 14, 22)


def coco_file(tmp_path) -> dict:
    """A COCO file as another tool writes it with pycocotools: compressed RLE, uncompressed RLE, polygons."""
    encoded = mask_utils.encode(np.asfortranarray(RING.astype(np.uint8)))
    square = [14.0, 10.0, 22.0, 10.0, 22.0, 16.0, 14.0, 16.0]
    return {
        "images": [{"id": 10, "file_name": "a.png", "width": W, "height": H},
                   {"id": 11, "file_name": "sub\\b.png", "width": W, "height": H}],
        "categories": [{"id": 3, "name": "cell", "color": "#00ff00"}, {"id": 4, "name": "debris"}],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 3, "iscrowd": 0,
             "segmentation": {"size": [H, W], "counts": encoded["counts"].decode()}},
            {"id": 2, "image_id": 10, "category_id": 4, "iscrowd": 1, "segmentation": uncompressed(PARTS)},
            {"id": 3, "image_id": 11, "category_id": 3, "iscrowd": 0, "segmentation": [square]},
        ],
    }


@pytest.fixture
def folder(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((H, W), np.uint8))
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "b.png"), np.full((H, W), 5, np.uint8))
    return tmp_path


def write(path, data):
    path.write_text(json.dumps(data))
    return path


def test_import_of_pycocotools_files_gives_the_masks_back(folder):
    source = write(folder / "in.json", coco_file(folder))
    with Project.open(folder, create=True) as project:
        project.labels.add("debris", "#abcdef")
        result = import_coco(project, source)
        assert (result.images_added, result.annotations_added, result.labels_created) == (2, 3, ["cell"])
        labels = {label.name: label for label in project.labels.list()}
        assert labels["cell"].colour == "#00ff00" and labels["debris"].colour == "#abcdef"
        a, b = project.images.find("a.png"), project.images.find("sub/b.png")
        got = [(i.label_id, i.source, i.mask) for i in project.instances.for_image(a.id)]
        assert [(lab, src) for lab, src, _ in got] == [(labels["cell"].id, InstanceSource.IMPORTED),
                                                       (labels["debris"].id, InstanceSource.IMPORTED)]
        assert np.array_equal(got[0][2], RING) and np.array_equal(got[1][2], PARTS)
        square = project.instances.for_image(b.id)[0].mask
        assert (square & SQUARE).sum() / (square | SQUARE).sum() >= 0.95

        again = import_coco(project, source)
        assert (again.annotations_added, again.duplicates_skipped, again.images_added) == (0, 3, 0)


def test_export_then_import_into_a_fresh_project_restores_everything(folder, tmp_path_factory):
    with Project.open(folder, create=True) as project:
        import_coco(project, write(folder / "in.json", coco_file(folder)))
        export_coco(project, folder / "out.json")
        before = {(i.mask.tobytes(), project.labels.get(i.label_id).name)
                  for im in project.images.list() for i in project.instances.for_image(im.id)}
    (folder / ".mopeft").rename(tmp_path_factory.mktemp("old") / ".mopeft")
    with Project.open(folder, create=True) as fresh:
        import_coco(fresh, folder / "out.json")
        after = {(i.mask.tobytes(), fresh.labels.get(i.label_id).name)
                 for im in fresh.images.list() for i in fresh.instances.for_image(im.id)}
    assert after == before


def broken(tmp_path, change):
    data = coco_file(tmp_path)
    change(data)
    return data


def set_in(path, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


GOOD_RLE = mask_utils.encode(np.asfortranarray(SQUARE.astype(np.uint8)))["counts"].decode()
CASES = {
    "unknown image id": (set_in(["annotations", 0, "image_id"], 99),
                         r"annotation 1: refers to image id 99, which is not in 'images'"),
    "unknown category": (set_in(["annotations", 2, "category_id"], 7),
                         r"annotation 3: refers to category id 7"),
    "image not in the folder": (set_in(["images", 1, "file_name"], "sub/missing.png"),
                                r"image 11: sub/missing.png: not found in the project folder"),
    "image outside the folder": (set_in(["images", 0, "file_name"], "../a.png"),
                                 r"image 10: ../a.png: not inside the project folder"),
    "image size differs": (set_in(["images", 0, "width"], 31),
                           r"image 10: the file says 31x20 but a.png is 30x20"),
    "mask of the wrong size": (set_in(["annotations", 0, "segmentation"], {"size": [21, 30], "counts": GOOD_RLE}),
                               r"annotation 1: on a.png: the mask is 30x21 .* but the image is 30x20"),
    "broken compressed RLE": (set_in(["annotations", 0, "segmentation", "counts"], "zz!"),
                              r"annotation 1: on a.png: the RLE counts string holds characters outside"),
    "RLE too short": (set_in(["annotations", 0, "segmentation", "counts"], GOOD_RLE[:-2]),
                      r"annotation 1: on a.png: the RLE runs cover \d+ pixels but the image has 20x30 = 600"),
    "uncompressed RLE too long": (set_in(["annotations", 1, "segmentation", "counts"], [5, 600]),
                                  r"annotation 2: on a.png: the RLE runs cover 605 pixels"),
    "short polygon": (set_in(["annotations", 2, "segmentation"], [[1, 2, 3, 4]]),
                      r"annotation 3: on sub/b.png: a polygon needs an even number of coordinates, at least 6"),
    "empty mask": (set_in(["annotations", 1, "segmentation", "counts"], [600]),
                   r"annotation 2: on a.png: the mask covers no pixel"),
    "no segmentation": (lambda d: d["annotations"][2].pop("segmentation"),
                        r"annotation 3: has no 'segmentation'"),
    "duplicate image id": (set_in(["images", 1, "id"], 10), r"image 10: this image id appears twice"),
    "category without name": (set_in(["categories", 1, "name"], ""), r"category 4 has no name"),
    "not a COCO file": (lambda d: d.pop("images"),
                        r"not a COCO instances file: expected a JSON object with an 'images' list"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_files_are_refused_with_a_clear_message_and_import_nothing(folder, case):
    change, message = CASES[case]
    path = write(folder / "bad.json", broken(folder, change))
    with Project.open(folder, create=True) as project:
        project.labels.add("kept")
        with pytest.raises(CocoError, match=rf"bad\.json: {message}"):
            import_coco(project, path)
        assert [label.name for label in project.labels.list()] == ["kept"]
        assert project.images.list() == []


@pytest.mark.parametrize("text, message", [
    ('{"images": [', r"not valid JSON: Expecting value at line 1, column 13"),
    ("[1, 2]", "expected a JSON object"),
])
def test_malformed_json_is_refused(folder, text, message):
    (folder / "bad.json").write_text(text)
    with Project.open(folder, create=True) as project, pytest.raises(CocoError, match=message):
        import_coco(project, folder / "bad.json")


def test_a_failure_while_writing_rolls_everything_back(folder, monkeypatch):
    """Checks pass, then the store fails half-way (a disk error, say): the transaction leaves no trace."""
    path = write(folder / "in.json", coco_file(folder))
    with Project.open(folder, create=True) as project:
        real_add, calls = project.instances.add, []

        def failing_add(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise OSError("disk full")
            return real_add(*args, **kwargs)

        monkeypatch.setattr(project.instances, "add", failing_add)
        with pytest.raises(OSError, match="disk full"):
            import_coco(project, path)
        assert project.images.list() == [] and project.labels.list() == []
        assert project.instances.counts_per_image() == {}



def test_an_image_changed_on_disk_since_it_was_added_is_refused(folder):
    """Its masks were drawn on the old pixels: the import must not add more to it as if nothing happened."""
    path = write(folder / "in.json", coco_file(folder))
    with Project.open(folder, create=True) as project:
        project.images.scan()
        cv2.imwrite(str(folder / "sub" / "b.png"), np.full((H, W), 9, np.uint8))   # same size, other pixels
        with pytest.raises(CocoError, match=r"in\.json: image 11: sub/b\.png: changed on disk since it was added "
                                            r"to the project"):
            import_coco(project, path)
        assert project.labels.list() == [] and set(project.instances.counts_per_image().values()) == {0}
        project.images.accept_change(project.images.find("sub/b.png").id)
        assert import_coco(project, path).annotations_added == 3


def test_an_unsupported_image_type_is_refused_naming_the_file_and_image(folder):
    Image.new("L", (W, H)).save(folder / "c.gif")
    data = coco_file(folder)
    data["images"][0]["file_name"] = "c.gif"
    path = write(folder / "bad.json", data)
    with Project.open(folder, create=True) as project:
        with pytest.raises(CocoError, match=r"bad\.json: image 10: c\.gif: not a supported image type \(\.png, "):
            import_coco(project, path)
        assert project.images.list() == []
