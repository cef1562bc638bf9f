"""COCO export of a project: images, categories from the labels, one annotation per instance."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import app
from app.coco.errors import ExportCancelled
from app.coco.export_target import check_export_target
from app.coco.segmentation import segmentation_from_rle
from app.coco.writer import write_coco
from app.store import Project


@dataclass(frozen=True)
class CocoExport:
    """What an export wrote: counts, and the instances written as RLE although polygons were asked, with why."""

    path: Path
    images: int
    annotations: int
    kept_as_rle: list[tuple[int, str]]


def category_ids(project: Project) -> dict[int, int]:
    """COCO category id of each label id: 1, 2, ... in label-list order (PNG semantic masks use the same)."""
    return {label.id: n for n, label in enumerate(project.labels.list(), start=1)}


Progress = Callable[[int, int], None]
"""progress(done, total): called after each image an export has written."""
Cancel = Callable[[], bool]
"""cancel(): checked before each image; True stops the export with ExportCancelled."""


def export_coco(project: Project, path: str | Path, polygons: bool = False, progress: Progress | None = None,
                cancel: Cancel | None = None) -> CocoExport:
    """Write the project's instances as a COCO instances file (atomically).

    Segmentations are compressed RLE (exact, holes kept), or with `polygons` one polygon per connected part;
    an instance with holes then stays RLE and is listed in `kept_as_rle`. `area` is the mask's pixel count,
    `bbox` its tight box, `iscrowd` 0. Image ids and annotation ids are the store's ids; `file_name` is the
    image path relative to the project folder. Everything is read in one snapshot (`Project.snapshot`), so
    changes the app commits during the export are left out, never half in. A `path` that would overwrite the
    project (`check_export_target`) raises CocoError and nothing is written; so does a `cancel` (ExportCancelled).
    """
    path = check_export_target(project, path, png=False)
    kept_as_rle: list[tuple[int, str]] = []
    with project.snapshot():   # one state throughout, even while the app adds labels and instances
        labels = project.labels.list()
        categories = category_ids(project)
        images = project.images.list()

        def annotations():
            for done, image in enumerate(images, start=1):
                stop_if_cancelled(cancel)
                for instance in project.instances.for_image(image.id):
                    segmentation, reason = segmentation_from_rle(instance.rle, polygons)
                    if reason:
                        kept_as_rle.append((instance.id, reason))
                    yield {"id": instance.id, "image_id": image.id,
                           "category_id": categories[instance.label_id], "segmentation": segmentation,
                           "area": instance.area, "bbox": list(instance.bbox), "iscrowd": 0}
                if progress is not None:
                    progress(done, len(images))

        count = write_coco(
            ({"id": im.id, "file_name": im.path, "width": im.width, "height": im.height} for im in images),
            [{"id": categories[label.id], "name": label.name, "supercategory": "", "color": label.colour}
             for label in labels],
            annotations(), path,
            info={"description": f"exported from {project.folder.name} by MoPEFT Annotator {app.__version__}",
                  "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return CocoExport(path, len(images), count, kept_as_rle)


def stop_if_cancelled(cancel: Cancel | None) -> None:
    """Raise ExportCancelled when `cancel()` says so."""
    if cancel is not None and cancel():
        raise ExportCancelled("export cancelled")
