"""Download a file over HTTP(S) into place: through a `.part` file, resumable, checked by sha256 before use.

The final name only ever holds a complete file whose sha256 matched: bytes arrive in `<name>.part`,
an interrupted transfer is resumed from where the part file ends (HTTP Range), and the part file is
renamed into place only after its hash has been checked.

Bounded: only http(s) URLs are fetched (redirects included); a transfer stops, and keeps nothing, once
more bytes arrive than expected; one that runs past its deadline or falls below a minimum rate stops
with a message (keeping the part for a resume); the part file is never written through a symbolic link.
"""
from __future__ import annotations

import errno
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
from urllib.parse import urljoin, urlparse

from app.sam.checkpoints import checkpoint_dir
from app.sam.errors import SamError

CHUNK_BYTES = 256 * 1024
SCHEMES = ("http", "https")
DEFAULT_MAX_BYTES = 4_000_000_000
"""Most bytes accepted when neither the caller nor the server says how many to expect (ViT-H is 2.6 GB)."""
DEFAULT_MIN_RATE = 16 * 1024
DEFAULT_RATE_WINDOW = 60.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

Progress = Callable[[int, int | None], None]
Cancel = threading.Event | Callable[[], bool] | None


class DownloadError(SamError, RuntimeError):
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


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s) URLs; one to file://, ftp:// or any other scheme is refused."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = urljoin(req.full_url, headers.get("location") or headers.get("uri") or "")
        if urlparse(target).scheme not in SCHEMES:
            fp.close()
            raise DownloadError(f"{req.full_url}: the server redirects to {target}; "
                                f"only http and https downloads are allowed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


class _Limits:
    """When a transfer must stop: byte cap when nobody gives a size, overall deadline, minimum rate."""

    def __init__(self, max_bytes: int, deadline: float | None, min_rate: float, rate_window: float):
        self.max_bytes, self.min_rate, self.rate_window = max_bytes, min_rate, rate_window
        self.stop_at = None if deadline is None else time.monotonic() + deadline
        self.deadline = deadline
        self.window_start, self.window_bytes = time.monotonic(), 0

    def start_window(self, done: int) -> None:
        """Start measuring the rate afresh, `done` bytes in (at each new request)."""
        self.window_start, self.window_bytes = time.monotonic(), done

    def check(self, url: str, part: Path, done: int) -> None:
        """Raise DownloadError past the deadline, or when the last `rate_window` seconds fell below `min_rate`."""
        now = time.monotonic()
        if self.stop_at is not None and now > self.stop_at:
            raise DownloadError(f"{url}: not finished within {self.deadline:g} s; {done} bytes stay in {part}, "
                                f"run again to resume")
        elapsed = now - self.window_start
        if elapsed >= self.rate_window:
            rate = (done - self.window_bytes) / elapsed
            if rate < self.min_rate:
                raise DownloadError(f"{url}: the transfer stalled ({rate:.0f} bytes/s over the last "
                                    f"{elapsed:.0f} s, below {self.min_rate:.0f}); {done} bytes stay in "
                                    f"{part}, run again to resume")
            self.start_window(done)


def _open_part(part: Path, flags: int):
    """Open the part file without following a symbolic link, so a planted link cannot redirect the bytes."""
    if part.is_symlink():
        raise DownloadError(f"{part} is a symbolic link; refusing to write the download through it, remove it")
    try:
        fd = os.open(part, flags | _NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DownloadError(f"{part} is a symbolic link; refusing to write the download through it, "
                                f"remove it") from exc
        raise
    return os.fdopen(fd, "rb" if flags == os.O_RDONLY else "r+b")


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


def _hash_stream(f, path: Path, hasher, cancelled: Callable[[], bool]) -> None:
    while chunk := f.read(4 * CHUNK_BYTES):
        if cancelled():
            raise DownloadCancelled(f"checking {path} was cancelled")
        hasher.update(chunk)


def _range_start(content_range: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match.group(1)) if match else None


def _fetch(url: str, part: Path, size: int | None, progress: Progress | None,
           cancelled: Callable[[], bool], timeout: float, limits: _Limits) -> str:
    """Bring `part` to the whole file, resuming from its current length; returns its sha256 hex."""
    hasher = hashlib.sha256()
    offset = 0
    if part.exists() or part.is_symlink():
        with _open_part(part, os.O_RDONLY) as f:
            offset = os.fstat(f.fileno()).st_size
            if size is None or offset <= size:
                _hash_stream(f, part, hasher, cancelled)
    if size is not None and offset > size:
        part.unlink()
        offset, hasher = 0, hashlib.sha256()
    if size is not None and offset == size:
        return hasher.hexdigest()
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = _OPENER.open(request, timeout=timeout)
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
        else:  # the server sends the whole file again
            offset, hasher = 0, hashlib.sha256()
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length else size
        if size is not None and total != size:
            raise DownloadError(f"{url}: the server offers {total} bytes, expected {size}")
        cap = total if total is not None else limits.max_bytes
        done = offset
        if progress:
            progress(done, total)
        limits.start_window(done)
        with _open_part(part, os.O_RDWR | os.O_CREAT) as f:
            f.truncate(offset)
            f.seek(offset)
            while True:
                if cancelled():
                    raise DownloadCancelled(f"download of {url} cancelled; {done} bytes stay in {part} for resume")
                limits.check(url, part, done)
                try:
                    chunk = response.read1(CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Interrupted(f"connection lost after {done} bytes ({exc})") from exc
                if not chunk:
                    break
                if done + len(chunk) > cap:
                    f.close()
                    part.unlink(missing_ok=True)
                    raise DownloadError(f"{url}: the server sent more than the {cap} bytes expected; "
                                        f"stopped and removed the partial download")
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
             retries: int = 3, retry_wait: float = 1.0, timeout: float = 30.0,
             max_bytes: int = DEFAULT_MAX_BYTES, deadline: float | None = None,
             min_rate: float = DEFAULT_MIN_RATE, rate_window: float = DEFAULT_RATE_WINDOW) -> Path:
    """Download `url` to `dest` and return the final path, only once its sha256 matches.

    dest: a file path, an existing folder (the URL's file name goes in it), or None for the
        checkpoint folder (`checkpoint_dir()`).
    sha256: the expected hex digest; `size` the expected byte count, if known (checked early).
    progress: called as `progress(done_bytes, total_bytes)`; total is None when nobody knows it.
    cancel: a threading.Event or a callable returning True to stop; checked between chunks,
        it raises `DownloadCancelled` and keeps the `.part` file for a later resume.
    retries: how many times a lost connection is resumed (after `retry_wait` seconds) before
        `DownloadError`. A bad hash raises `ChecksumMismatch` and removes the part file.
    timeout: seconds a single read may wait. The transfer stops with `DownloadError` once more bytes
        arrive than `size`, the server's Content-Length or else `max_bytes` (the part file is removed),
        after `deadline` seconds in all (None: no deadline), or when fewer than `min_rate` bytes/s
        arrived over the last `rate_window` seconds (those two keep the part file for a resume).
    Only http and https URLs are fetched, redirects included; the part file is never opened through
    a symbolic link.
    An existing final file with the right hash is kept and returned without downloading.
    """
    expected = sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    if urlparse(url).scheme.lower() not in SCHEMES:
        raise DownloadError(f"{url}: only http and https downloads are allowed")
    limits = _Limits(max_bytes, deadline, min_rate, rate_window)
    cancelled = _is_cancelled(cancel)
    final = _destination(url, dest)
    if final.is_file() and (size is None or final.stat().st_size == size):
        hasher = hashlib.sha256()
        with open(final, "rb") as f:
            _hash_stream(f, final, hasher, cancelled)
        if hasher.hexdigest() == expected:
            if progress:
                progress(final.stat().st_size, final.stat().st_size)
            return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    for attempt in range(retries + 1):
        try:
            actual = _fetch(url, part, size, progress, cancelled, timeout, limits)
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
