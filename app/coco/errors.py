"""Errors of COCO import and export; each names the file and, where there is one, the image or annotation."""
from __future__ import annotations

from pathlib import Path


class CocoError(Exception):
    """A COCO file cannot be read or written; nothing was imported."""

    def __init__(self, path: Path | str, problem: str, *, annotation_id=None, image_id=None):
        where = ""
        if annotation_id is not None:
            where = f"annotation {annotation_id!r}: "
        elif image_id is not None:
            where = f"image {image_id!r}: "
        super().__init__(f"{path}: {where}{problem}")
        self.path = path
        self.problem = problem
        self.annotation_id = annotation_id
        self.image_id = image_id
