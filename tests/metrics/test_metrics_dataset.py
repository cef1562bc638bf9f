"""COCO evaluation datasets: RLE (compressed and not) and polygons load; broken files are named."""
import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from app.coco.errors import CocoError
from app.coco.writer import write_coco
from app.metrics import load_coco_dataset

H, W = 30, 40


def compressed(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [H, W], "counts": rle["counts"].decode("ascii")}


def uncompressed(mask):
    flat = mask.T.ravel().astype(np.int8)               # COCO runs go down the columns, starting with zeros
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [1 - flat[-1]]))))
    return {"size": [H, W], "counts": np.diff(np.concatenate(([0], edges))).tolist()}


def blob(top, left, height, width):
    mask = np.zeros((H, W), bool)
    mask[top:top + height, left:left + width] = True
    return mask


POLYGON = [[20.0, 2.0, 35.0, 2.0, 35.0, 12.0, 20.0, 12.0]]


def write_dataset(tmp_path, annotations, images=None):
    (tmp_path / "imgs").mkdir(exist_ok=True)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / "imgs" / name), np.full((H, W, 3), 90, np.uint8))
    images = images or [{"id": 1, "file_name": "imgs/a.png", "width": W, "height": H},
                        {"id": 2, "file_name": "imgs/b.png", "width": W, "height": H}]
    path = tmp_path / "data" / "instances.json"
    path.parent.mkdir(exist_ok=True)
    for image in images:
        image["file_name"] = "../" + image["file_name"]      # relative to the JSON's folder
    write_coco(images, [{"id": 1, "name": "thing"}], annotations, path)
    return path


def annotation(ann_id, image_id, segmentation, **extra):
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "segmentation": segmentation, **extra}


def test_rle_and_polygon_annotations_load_with_their_masks(tmp_path):
    first, second = blob(3, 4, 10, 8), blob(15, 10, 12, 20)
    crowd = blob(0, 0, 5, 5)
    path = write_dataset(tmp_path, [
        annotation(10, 1, compressed(first)),
        annotation(11, 1, POLYGON),
        annotation(12, 2, uncompressed(second)),
        annotation(13, 2, compressed(crowd), iscrowd=1),
    ])
    dataset = load_coco_dataset(path)
    assert (len(dataset), dataset.instance_count, dataset.crowd_skipped, dataset.empty_skipped) == (2, 3, 1, 0)
    a, b = dataset[0], dataset[1]
    assert (a.name, a.instance_ids, b.name, b.instance_ids) == ("../imgs/a.png", [10, 11], "../imgs/b.png", [12])
    assert a.rgb.shape == (H, W, 3) and a.rgb[0, 0].tolist() == [90, 90, 90]
    polygon = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(POLYGON, H, W))).astype(bool)
    assert polygon.sum() > 100
    for got, want in zip(list(a.masks) + list(b.masks), [first, polygon, second]):
        assert got.dtype == bool and got.shape == (H, W)
        np.testing.assert_array_equal(got, want)


def test_images_without_instances_and_empty_masks_are_left_out(tmp_path):
    path = write_dataset(tmp_path, [annotation(1, 2, compressed(blob(2, 2, 5, 5))),
                                    annotation(2, 2, compressed(np.zeros((H, W), bool)))])
    dataset = load_coco_dataset(path)
    assert (len(dataset), dataset.instance_count, dataset.empty_skipped) == (1, 1, 1)
    assert dataset[0].name == "../imgs/b.png"


def test_a_missing_image_is_named(tmp_path):
    images = [{"id": 1, "file_name": "imgs/gone.png", "width": W, "height": H}]
    path = write_dataset(tmp_path, [annotation(1, 1, POLYGON)], images)
    with pytest.raises(CocoError, match=r"instances\.json: image 1: image file .*gone\.png not found"):
        load_coco_dataset(path)


@pytest.mark.parametrize("segmentation, problem", [
    ({"size": [H, W], "counts": [5, 7]}, "runs cover 12 pixels"),
    ({"size": [H + 1, W], "counts": "0"}, "but the image is"),
    ([[1.0, 2.0, 3.0]], "at least 6"),
])
def test_a_bad_annotation_is_named(tmp_path, segmentation, problem):
    path = write_dataset(tmp_path, [annotation(10, 1, POLYGON), annotation(77, 1, segmentation)])
    with pytest.raises(CocoError, match=rf"instances\.json: annotation 77: on .*a\.png: .*{problem}"):
        load_coco_dataset(path)


def test_annotation_without_segmentation_or_image_is_refused(tmp_path):
    path = write_dataset(tmp_path, [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 3, 3]}])
    with pytest.raises(CocoError, match="annotation 5: has no 'segmentation'"):
        load_coco_dataset(path)
    path = write_dataset(tmp_path, [annotation(6, 9, POLYGON)])
    with pytest.raises(CocoError, match="annotation 6: refers to image id 9"):
        load_coco_dataset(path)


def test_a_size_that_does_not_match_the_image_is_refused(tmp_path):
    images = [{"id": 1, "file_name": "imgs/a.png", "width": W + 5, "height": H}]
    path = write_dataset(tmp_path, [annotation(1, 1, POLYGON)], images)
    with pytest.raises(CocoError, match=f"image 1: the file says {W + 5}x{H} but .*a.png is {W}x{H}"):
        load_coco_dataset(path)


def test_an_image_that_cannot_be_decoded_is_named_when_loaded(tmp_path):
    images = [{"id": 1, "file_name": "imgs/c.jpg", "width": W, "height": H}]
    path = write_dataset(tmp_path, [annotation(1, 1, POLYGON)], images)
    cv2.imwrite(str(tmp_path / "imgs" / "c.jpg"), np.random.default_rng(0).integers(0, 255, (H, W, 3), np.uint8))
    data = (tmp_path / "imgs" / "c.jpg").read_bytes()
    (tmp_path / "imgs" / "c.jpg").write_bytes(data[: len(data) // 2])   # header intact, pixels cut short
    dataset = load_coco_dataset(path)
    with pytest.raises(CocoError, match=r"instances\.json: image \.\./imgs/c\.jpg: .*truncated"):
        dataset[0]


def test_not_json_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(CocoError, match="x.json: not valid JSON"):
        load_coco_dataset(path)
