"""Content hash of image files: how the store recognises an image after it was moved or changed."""
from __future__ import annotations

import hashlib
from enum import Enum
from pathlib import Path

_CHUNK = 1 << 20


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FileCheck(Enum):
    """How an image file compares with what the project recorded of it."""

    SAME = "same"
    RESIZED = "resized"     # other pixel size: its masks cannot fit
    CHANGED = "changed"     # same size, other bytes: its masks were drawn on other pixels


def check_file(path: Path, size: tuple[int, int], recorded) -> FileCheck:
    """Compare the image file at `path`, decoded to `size` (width, height), with `recorded` (anything with
    `content_hash`, `width` and `height`, e.g. an `Image` record). Reads the file once; OSError if it cannot."""
    if size != (recorded.width, recorded.height):
        return FileCheck.RESIZED
    return FileCheck.SAME if file_hash(Path(path)) == recorded.content_hash else FileCheck.CHANGED
