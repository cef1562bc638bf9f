"""Atomic file writes: the file appears complete under its name, or not at all."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_output(path: Path, mode: str = "w", durable: bool = True) -> Iterator[IO]:
    """A file object to write `path` through: written to a temporary file beside it, then renamed over `path`
    when the block ends. If the block raises, `path` is left as it was (and an OSError that names no file, as
    a full disk's ENOSPC, is raised again naming `path`).

    durable: flush the file to disk (fsync) before the rename, so that it also survives a power cut; without
    it the write is still all-or-nothing if the process dies, and many small files are written much faster.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc   # e.g. ENOSPC, which names no file
        raise
