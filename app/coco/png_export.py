"""PNG mask export: per image, an instance-id PNG and a semantic (label index) PNG, plus a JSON legend."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from app.atomic_file import atomic_output
from app.coco.errors import CocoError
from app.coco.export import Cancel, Progress, category_ids, stop_if_cancelled
from app.coco.export_target import check_export_target
from app.store import Project
from app.store.image_files import PNG_EXPORT_LEGEND


@dataclass(frozen=True)
class PngExport:
    """What a PNG export wrote."""

    folder: Path
    images: int
    instances: int
    sixteen_bit_images: int


def export_png(project: Project, out_dir: str | Path, progress: Progress | None = None,
               cancel: Cancel | None = None) -> PngExport:
    """Write `instances/<image path>.png` and `semantic/<image path>.png` for every image, and the legend.

    Instance PNGs hold 1, 2, ... for the image's instances in id order (0 background; 16-bit when an image
    has more than 255 instances); where instances overlap, the later one is on top. Semantic PNGs hold the
    label index 1, 2, ... in label-list order (the COCO category id). The legend, `mopeft_png_legend.json`,
    maps every value back to the instance id and label; a project scan skips a folder holding it. Everything
    is read in one snapshot (`Project.snapshot`), so changes the app commits meanwhile are left out. A folder that
    would overwrite or hide the project's images (`check_export_target`) raises CocoError and nothing is written.

    The legend is written first with `"complete": false` and no images, so the folder is marked as masks from
    its first PNG on; a `cancel` (ExportCancelled), a failure or a kill leaves it so, with the PNGs written so far.
    """
    out_dir = check_export_target(project, out_dir, png=True)
    with project.snapshot():
        return _export(project, out_dir, progress, cancel)


def _export(project: Project, out_dir: Path, progress: Progress | None, cancel: Cancel | None) -> PngExport:
    labels = project.labels.list()
    index_of = category_ids(project)
    semantic_dtype = np.uint8 if len(labels) < 256 else np.uint16
    images = project.images.list()
    names = _png_names([image.path for image in images])
    legend = {"format": "mopeft-png-masks", "version": 1, "complete": False, "background": 0,
              "semantic_bit_depth": 8 * semantic_dtype().itemsize,
              "labels": [{"index": index_of[label.id], "name": label.name, "colour": label.colour}
                         for label in labels],
              "images": []}
    _write_legend(out_dir, legend)
    legend_images, total, sixteen = [], 0, 0
    for done, image in enumerate(images, start=1):
        stop_if_cancelled(cancel)
        instances = project.instances.for_image(image.id)
        dtype = np.uint8 if len(instances) < 256 else np.uint16
        instance_map = np.zeros((image.height, image.width), dtype)
        semantic_map = np.zeros((image.height, image.width), semantic_dtype)
        for value, instance in enumerate(instances, start=1):
            x, y, w, h = instance.bbox
            box = (slice(y, y + h), slice(x, x + w))
            inside = instance.mask[box]
            instance_map[box][inside] = value
            semantic_map[box][inside] = index_of[instance.label_id]
        name = names[image.path]
        for kind, array in (("instances", instance_map), ("semantic", semantic_map)):
            _write_png(out_dir / kind / name, array)
        legend_images.append({
            "file_name": image.path, "width": image.width, "height": image.height,
            "instances_png": f"instances/{name}", "semantic_png": f"semantic/{name}",
            "instances_bit_depth": 8 * dtype().itemsize,
            "instances": [{"value": value, "instance_id": instance.id, "label_index": index_of[instance.label_id]}
                          for value, instance in enumerate(instances, start=1)],
        })
        total += len(instances)
        sixteen += dtype is np.uint16
        if progress is not None:
            progress(done, len(images))
    _write_legend(out_dir, {**legend, "complete": True, "images": legend_images})
    return PngExport(out_dir, len(images), total, sixteen)


def _write_legend(out_dir: Path, legend: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_dir / PNG_EXPORT_LEGEND) as f:
        json.dump(legend, f, indent=1)


def _png_names(paths: list[str]) -> dict[str, str]:
    """Output name of each image: its path with the suffix changed to .png, or with .png appended where two
    images would otherwise share a name (a.jpg and a.tif)."""
    plain = {p: PurePosixPath(p).with_suffix(".png").as_posix() for p in paths}
    taken: dict[str, int] = {}
    for name in plain.values():
        taken[name] = taken.get(name, 0) + 1
    return {p: (name if taken[name] == 1 else f"{p}.png") for p, name in plain.items()}


def _write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise CocoError(path, "OpenCV could not encode the PNG")
    with atomic_output(path, "wb", durable=False) as f:   # one fsync per PNG would dominate the export time
        f.write(encoded.tobytes())
