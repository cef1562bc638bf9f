"""Content hash of image files: how the store recognises an image after it was moved or changed."""
from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
