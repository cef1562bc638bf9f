"""Evaluation datasets: images with their ground-truth instance masks, from a COCO instances file.

`file_name`s are relative to the JSON file's folder. Segmentations may be compressed or uncompressed RLE
or polygons. `iscrowd` annotations are skipped (a crowd region is not one object to click on), and so are
masks that cover no pixel (a degenerate polygon); both are counted. The JSON, every annotation and the
size of every image that has instances are checked when the file is loaded, so a broken dataset fails
before any model runs; pixels and masks are decoded only when an image is taken from the dataset.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.coco.errors import CocoError
from app.coco.reader import read_coco_json
from app.coco.segmentation import segmentation_to_rle
from app.sam.images import ImageLoadError, load_image
from app.store.errors import ImageFileError
from app.store.image_files import read_image_size
from app.store.masks import rle_area, rle_to_mask


@dataclass(frozen=True)
class EvalImage:
    """One image to evaluate on: a name, RGB pixels (H x W x 3 uint8), its instance masks (H x W bool) and an
    id for each mask (the COCO annotation id, or anything the caller uses to find it again)."""

    name: str
    rgb: np.ndarray
    masks: Sequence[np.ndarray]
    instance_ids: Sequence[object]


@dataclass(frozen=True)
class _ImageEntry:
    path: Path
    file_name: str
    width: int
    height: int
    annotation_ids: tuple
    rles: tuple


class CocoEvalDataset(Sequence):
    """The images of a COCO file that have at least one instance, in file order; indexing loads one."""

    def __init__(self, path: Path, entries: list[_ImageEntry], crowd_skipped: int, empty_skipped: int):
        self.path = path
        self._entries = entries
        self.crowd_skipped = crowd_skipped
        self.empty_skipped = empty_skipped

    @property
    def instance_count(self) -> int:
        """Number of instances over all images."""
        return sum(len(e.rles) for e in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> EvalImage:
        entry = self._entries[index]
        try:
            rgb = load_image(entry.path).rgb
        except ImageLoadError as exc:
            raise CocoError(self.path, f"image {entry.file_name}: {exc}") from None
        if rgb.shape[:2] != (entry.height, entry.width):
            raise CocoError(self.path, f"image {entry.file_name} loads as {rgb.shape[1]}x{rgb.shape[0]} but its "
                                       f"annotations are {entry.width}x{entry.height}")
        return EvalImage(entry.file_name, rgb, [rle_to_mask(r) for r in entry.rles], list(entry.annotation_ids))


def load_coco_dataset(path: str | Path) -> CocoEvalDataset:
    """Read a COCO instances file for evaluation. Raises CocoError naming the file and the image or
    annotation at fault: unreadable JSON, a missing or unreadable image file, a size that does not match the
    image, an annotation without a segmentation or with a malformed one."""
    path = Path(path)
    data = read_coco_json(path)
    images = {}
    for entry in data["images"]:
        if not isinstance(entry, dict) or not _is_int(entry.get("id")):
            raise CocoError(path, f"an image needs a whole-number 'id': {str(entry)[:80]}")
        if entry["id"] in images:
            raise CocoError(path, "this image id appears twice", image_id=entry["id"])
        if not isinstance(entry.get("file_name"), str) or not entry["file_name"]:
            raise CocoError(path, "no 'file_name'", image_id=entry["id"])
        images[entry["id"]] = entry
    found: dict[int, list[tuple[object, dict]]] = {}
    crowd = empty = 0
    sizes: dict[int, tuple[int, int]] = {}
    for n, annotation in enumerate(data["annotations"]):
        if not isinstance(annotation, dict):
            raise CocoError(path, f"annotation number {n} (counting from 0) is not a JSON object")
        ann_id = annotation.get("id", f"#{n}")
        image = images.get(annotation.get("image_id")) if _is_int(annotation.get("image_id")) else None
        if image is None:
            raise CocoError(path, f"refers to image id {annotation.get('image_id')!r}, which is not in 'images'",
                            annotation_id=ann_id)
        if annotation.get("iscrowd"):
            crowd += 1
            continue
        if "segmentation" not in annotation:
            raise CocoError(path, "has no 'segmentation' (evaluation needs masks)", annotation_id=ann_id)
        if image["id"] not in sizes:
            sizes[image["id"]] = _image_size(path, image)
        width, height = sizes[image["id"]]
        try:
            rle = segmentation_to_rle(annotation["segmentation"], height, width)
        except ValueError as exc:
            raise CocoError(path, f"on {image['file_name']}: {exc}", annotation_id=ann_id) from None
        if rle_area(rle) == 0:
            empty += 1
            continue
        found.setdefault(image["id"], []).append((ann_id, rle))
    entries = []
    for image_id, image in images.items():
        if image_id in found:
            width, height = sizes[image_id]
            ids, rles = zip(*found[image_id])
            entries.append(_ImageEntry(_image_path(path, image), image["file_name"], width, height, ids, rles))
    return CocoEvalDataset(path, entries, crowd, empty)




def _image_path(path: Path, image: dict) -> Path:
    return Path(os.path.normpath(path.parent / image["file_name"].replace("\\", "/")))


def _image_size(path: Path, image: dict) -> tuple[int, int]:
    """(width, height) of an image file, checked against the size the JSON gives (if any)."""
    file = _image_path(path, image)
    if not file.is_file():
        raise CocoError(path, f"image file {file} not found (file_name {image['file_name']!r} is relative to "
                              "the JSON file's folder)", image_id=image["id"])
    try:
        width, height = read_image_size(file)
    except ImageFileError as exc:
        raise CocoError(path, str(exc), image_id=image["id"]) from None
    given = (image.get("width", width), image.get("height", height))
    if given != (width, height):
        raise CocoError(path, f"the file says {given[0]}x{given[1]} but {file} is {width}x{height}",
                        image_id=image["id"])
    return width, height


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
