"""Errors of COCO import and export; each names the file and, where there is one, the image or annotation."""
from __future__ import annotations

import reprlib
from pathlib import Path

from app.errors import AppError


class CocoError(AppError):
    """A COCO file cannot be read or written; nothing was imported."""

    def __init__(self, path: Path | str, problem: str, *, annotation_id=None, image_id=None):
        where = ""
        if annotation_id is not None:
            where = f"annotation {reprlib.repr(annotation_id)}: "   # short, whatever the file holds there
        elif image_id is not None:
            where = f"image {reprlib.repr(image_id)}: "
        super().__init__(f"{path}: {where}{problem}")
        self.path = path
        self.problem = problem
        self.annotation_id = annotation_id
        self.image_id = image_id


class ExportCancelled(Exception):
    """The user stopped an export: a COCO file is not written at all; a PNG folder keeps what was written, under a
    legend that says it is incomplete."""
