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


def change_problem(path: str | Path, check: FileCheck, recorded, size: tuple[int, int]) -> str | None:
    """What to tell the annotator of a file that is no longer the annotated one (`check` of `check_file`, `size`
    as decoded now); None when it still is."""
    if check is FileCheck.RESIZED:
        return (f"{path} is now {size[0]}x{size[1]} pixels, no longer the {recorded.width}x{recorded.height} it "
                "had when it was added: its instances no longer fit it")
    if check is FileCheck.CHANGED:
        return (f"{path} changed on disk since it was added to the project: its instances were drawn on the old "
                "pixels and may no longer fit. If they still do: Image > Keep the instances on the changed file.")
    return None
