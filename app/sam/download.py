"""Download a file over HTTP(S) into place: through a `.part` file, resumable, checked by sha256 before use.

The final name only ever holds a complete file whose sha256 matched: bytes arrive in `<name>.part`,
an interrupted transfer is resumed from where the part file ends (HTTP Range), and the part file is
renamed into place only after its hash has been checked.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from app.sam.checkpoints import checkpoint_dir

CHUNK_BYTES = 256 * 1024

Progress = Callable[[int, int | None], None]
Cancel = threading.Event | Callable[[], bool] | None


class DownloadError(RuntimeError):
    """A download that failed: HTTP error, unreachable server, or a connection lost too many times."""


class ChecksumMismatch(DownloadError):
    """The downloaded bytes do not have the expected sha256; the part file has been removed."""

    def __init__(self, path: Path, expected: str, actual: str):
        super().__init__(f"{path}: the downloaded file has sha256 {actual}, expected {expected}; "
                         f"the partial download was removed, so the next try starts afresh")
        self.path, self.expected, self.actual = path, expected, actual


class DownloadCancelled(Exception):
    """The caller cancelled the download; the part file stays so that the next try resumes."""


class _Interrupted(Exception):
    """The transfer stopped early in a way that a retry may fix (connection lost, server unreachable)."""


def _is_cancelled(cancel: Cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    return cancel


def _destination(url: str, dest: str | Path | None) -> Path:
    name = Path(urlparse(url).path).name or "download"
    if dest is None:
        return checkpoint_dir() / name
    dest = Path(dest).expanduser()
    return dest / name if dest.is_dir() else dest


def _hash_file(path: Path, hasher, cancelled: Callable[[], bool]) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(4 * CHUNK_BYTES):
            if cancelled():
                raise DownloadCancelled(f"checking {path} was cancelled")
            hasher.update(chunk)


def _range_start(content_range: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match.group(1)) if match else None


def _fetch(url: str, part: Path, size: int | None, progress: Progress | None,
           cancelled: Callable[[], bool], timeout: float) -> str:
    """Bring `part` to the whole file, resuming from its current length; returns its sha256 hex."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    hasher = hashlib.sha256()
    if offset:
        _hash_file(part, hasher, cancelled)
    if size is not None and offset == size:
        return hasher.hexdigest()
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the part holds the whole file, the hash decides
            return hasher.hexdigest()
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise _Interrupted(f"cannot reach the server ({getattr(exc, 'reason', exc)})") from exc
    with response:
        if offset and response.status == 206:
            start = _range_start(response.headers.get("Content-Range"))
            if start != offset:
                raise DownloadError(f"{url}: asked to resume at byte {offset}, the server sent from {start}")
            mode = "ab"
        else:  # the server sends the whole file again
            offset, hasher, mode = 0, hashlib.sha256(), "wb"
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length else size
        if size is not None and total != size:
            raise DownloadError(f"{url}: the server offers {total} bytes, expected {size}")
        done = offset
        if progress:
            progress(done, total)
        with open(part, mode) as f:
            while True:
                if cancelled():
                    raise DownloadCancelled(f"download of {url} cancelled; {done} bytes stay in {part} for resume")
                try:
                    chunk = response.read(CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Interrupted(f"connection lost after {done} bytes ({exc})") from exc
                if not chunk:
                    break
                f.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            f.flush()
            os.fsync(f.fileno())
    if total is not None and done < total:
        raise _Interrupted(f"connection closed after {done} of {total} bytes")
    return hasher.hexdigest()


def download(url: str, dest: str | Path | None, sha256: str, size: int | None = None,
             progress: Progress | None = None, cancel: Cancel = None, *,
             retries: int = 3, retry_wait: float = 1.0, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` and return the final path, only once its sha256 matches.

    dest: a file path, an existing folder (the URL's file name goes in it), or None for the
        checkpoint folder (`checkpoint_dir()`).
    sha256: the expected hex digest; `size` the expected byte count, if known (checked early).
    progress: called as `progress(done_bytes, total_bytes)`; total is None when nobody knows it.
    cancel: a threading.Event or a callable returning True to stop; checked between chunks,
        it raises `DownloadCancelled` and keeps the `.part` file for a later resume.
    retries: how many times a lost connection is resumed (after `retry_wait` seconds) before
        `DownloadError`. A bad hash raises `ChecksumMismatch` and removes the part file.
    An existing final file with the right hash is kept and returned without downloading.
    """
    expected = sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    cancelled = _is_cancelled(cancel)
    final = _destination(url, dest)
    if final.is_file() and (size is None or final.stat().st_size == size):
        hasher = hashlib.sha256()
        _hash_file(final, hasher, cancelled)
        if hasher.hexdigest() == expected:
            if progress:
                progress(final.stat().st_size, final.stat().st_size)
            return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    for attempt in range(retries + 1):
        try:
            actual = _fetch(url, part, size, progress, cancelled, timeout)
            break
        except _Interrupted as exc:
            if attempt == retries:
                raise DownloadError(f"{url}: {exc}; gave up after {retries + 1} tries, "
                                    f"run again to resume from {part}") from exc
            time.sleep(retry_wait)
    if actual != expected:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(final, expected, actual)
    os.replace(part, final)
    return final
