"""COCO import into a project: every annotation is checked first, then all are added in one transaction."""
from __future__ import annotations

import reprlib
from dataclasses import dataclass
from pathlib import Path

from app.coco.errors import CocoError
from app.coco.reader import read_coco_json
from app.coco.segmentation import segmentation_to_rle
from app.image_file import IMAGE_SUFFIXES, is_image_file
from app.store import ImageFileError, InstanceSource, Project
from app.store.hashing import FileCheck, check_file
from app.store.image_files import read_image_size
from app.store.labels import is_colour
from app.store.masks import mask_to_rle, rle_area, rle_to_mask


@dataclass(frozen=True)
class CocoImport:
    """What an import added."""

    path: Path
    images_added: int
    annotations_added: int
    duplicates_skipped: int
    labels_created: list[str]


@dataclass(frozen=True)
class _ImageRef:
    path: str          # relative to the project folder
    width: int
    height: int


def import_coco(project: Project, path: str | Path) -> CocoImport:
    """Add the annotations of a COCO instances file to a project opened for writing.

    `file_name` is resolved relative to the project folder; images not yet registered are added, registered
    ones must still have the content they were added with (their masks were drawn on it). Categories
    map to labels by name (missing labels are created). Segmentations may be compressed or uncompressed RLE
    or polygons. An annotation identical to an instance already there (same image, label and mask) is
    skipped, so importing a file twice adds nothing. Any problem raises CocoError naming the file and the
    image or annotation, and nothing is imported.
    """
    path = Path(path)
    data = read_coco_json(path)
    categories = _categories(data, path)
    images = _images(data, path, project)
    planned = _annotations(data, path, images, categories)
    labels_created, images_before = [], len(project.images.list())
    added = skipped = 0
    with project.transaction():
        label_ids = {}
        for category_id, (name, colour) in categories.items():
            label = project.labels.find(name)
            if label is None:
                label = project.labels.add(name, colour)
                labels_created.append(name)
            label_ids[category_id] = label.id
        image_ids = {coco_id: project.images.add(ref.path).id for coco_id, ref in images.items()}
        seen = {(image_id, i.label_id, i.rle["counts"]) for image_id in set(image_ids.values())
                for i in project.instances.for_image(image_id)}
        for coco_image_id, category_id, rle in planned:
            mask = rle_to_mask(rle)
            key = (image_ids[coco_image_id], label_ids[category_id], mask_to_rle(mask)["counts"])
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            project.instances.add(key[0], key[1], mask, InstanceSource.IMPORTED)
            added += 1
    return CocoImport(path, len(project.images.list()) - images_before, added, skipped, labels_created)




def _categories(data: dict, path: Path) -> dict[int, tuple[str, str | None]]:
    categories = {}
    for category in data.get("categories", []):
        if not isinstance(category, dict) or not _is_int(category.get("id")):
            raise CocoError(path, f"a category needs a whole-number 'id': {str(category)[:80]}")
        name = category.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CocoError(path, f"category {category['id']} has no name")
        if not _is_unicode(name):
            raise CocoError(path, f"category {category['id']} has a name that is not valid Unicode: {name!r}")
        if category["id"] in categories:
            raise CocoError(path, f"category id {category['id']} appears twice")
        colour = category.get("color")
        categories[category["id"]] = (name.strip(), colour if is_colour(colour) else None)
    return categories


def _images(data: dict, path: Path, project: Project) -> dict[int, _ImageRef]:
    images = {}
    for entry in data["images"]:
        if not isinstance(entry, dict) or not _is_int(entry.get("id")):
            raise CocoError(path, f"an image needs a whole-number 'id': {str(entry)[:80]}")
        image_id = entry["id"]
        if image_id in images:
            raise CocoError(path, "this image id appears twice", image_id=image_id)
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            raise CocoError(path, "no 'file_name'", image_id=image_id)
        if not _is_unicode(file_name):
            raise CocoError(path, f"'file_name' is not valid Unicode: {file_name!r}", image_id=image_id)
        try:
            rel = project.images.relative_path(file_name.replace("\\", "/"))
            if not is_image_file(rel):
                raise ImageFileError(file_name, f"not a supported image type ({', '.join(IMAGE_SUFFIXES)})")
            registered = project.images.find(rel)
            absolute = project.path_of(rel)
            if not absolute.is_file():
                raise ImageFileError(file_name, f"not found in the project folder {project.folder}")
            width, height = read_image_size(absolute)
            if registered is not None and check_file(absolute, (width, height), registered) is not FileCheck.SAME:
                raise ImageFileError(rel, "changed on disk since it was added to the project; its masks were "
                                          "drawn on the old content (check it in the app first)")
        except (ImageFileError, OSError) as exc:
            raise CocoError(path, str(exc), image_id=image_id) from None
        given = (entry.get("width", width), entry.get("height", height))
        if given != (width, height):
            raise CocoError(path, f"the file says {given[0]}x{given[1]} but {rel} is {width}x{height}",
                            image_id=image_id)
        images[image_id] = _ImageRef(rel, width, height)
    return images


def _annotations(data: dict, path: Path, images: dict[int, _ImageRef],
                 categories: dict) -> list[tuple[int, int, dict]]:
    planned = []
    for n, annotation in enumerate(data.get("annotations", [])):
        if not isinstance(annotation, dict):
            raise CocoError(path, f"annotation number {n} (counting from 0) is not a JSON object")
        ann_id = annotation.get("id", f"#{n}")
        image_id, category_id = annotation.get("image_id"), annotation.get("category_id")
        image = images.get(image_id) if _is_int(image_id) else None
        if image is None:
            raise CocoError(path, f"refers to image id {reprlib.repr(image_id)}, which is not in 'images'",
                            annotation_id=ann_id)
        if not _is_int(category_id) or category_id not in categories:
            raise CocoError(path, f"refers to category id {reprlib.repr(category_id)}, which is not in "
                                  "'categories'", annotation_id=ann_id)
        if "segmentation" not in annotation:
            raise CocoError(path, "has no 'segmentation' (only masks can be imported)", annotation_id=ann_id)
        try:
            rle = segmentation_to_rle(annotation["segmentation"], image.height, image.width)
        except ValueError as exc:
            raise CocoError(path, f"on {image.path}: {exc}", annotation_id=ann_id) from None
        if rle_area(rle) == 0:
            raise CocoError(path, f"on {image.path}: the mask covers no pixel", annotation_id=ann_id)
        planned.append((image_id, category_id, rle))
    return planned


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_unicode(text: str) -> bool:
    """False for a string with a lone surrogate (JSON's "\\ud800"): no file system or SQLite takes it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
