"""Writing a COCO instances file from plain records, streaming the annotations one at a time."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from app.atomic_file import atomic_output
from app.coco.errors import CocoError


def write_coco(images: Iterable[dict], categories: Iterable[dict], annotations: Iterable[dict], path: Path,
               info: dict | None = None) -> int:
    """Write a COCO instances JSON file atomically; returns the number of annotations written.

    images: {'id', 'file_name', 'width', 'height'}; categories: {'id', 'name', ...}; annotations:
    {'id', 'image_id', 'category_id', 'segmentation', 'area', 'bbox', 'iscrowd'} — plain JSON values only
    (a numpy number or NaN raises CocoError naming the record). `annotations` may be a generator: it is
    written as it is produced, so a large dataset never sits in memory whole.
    """
    info = info or {"description": "written by MoPEFT Annotator",
                    "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    count = 0
    with atomic_output(Path(path)) as f:
        f.write('{"info": ' + _dumps(info, path, "info") + ', "licenses": [],\n')
        for key, records in (("images", images), ("categories", categories), ("annotations", annotations)):
            f.write(f'"{key}": [')
            for n, record in enumerate(records):
                f.write(("\n" if n == 0 else ",\n") + _dumps(record, path, key))
                count += key == "annotations"
            f.write("\n]" + (",\n" if key != "annotations" else "\n}\n"))
    return count


def _dumps(record, path, key: str) -> str:
    try:
        return json.dumps(record, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        name = record.get("id", "?") if isinstance(record, dict) else "?"
        raise CocoError(path, f"{key} record {name!r} is not plain JSON ({exc})") from exc
