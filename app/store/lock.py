"""The writer lock: one process at a time may write a project.

An OS-level lock on `.mopeft/project.lock` (fcntl.flock on POSIX, msvcrt.locking on Windows). The operating system
drops it when the process ends, however it ends, so a crash or kill -9 never leaves a stale lock behind. The file
also records who holds it (pid, host, since) so that a refused process can say who to ask.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from app.store.errors import ProjectLockedError

# Byte 0 is the locked byte (Windows locks are mandatory, so it cannot hold readable data); the holder's
# details follow it as JSON padded with spaces to a fixed size, so a shorter record overwrites a longer one cleanly.
_HOLDER_OFFSET = 1
_HOLDER_SIZE = 512

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class WriterLock:
    """Holds the writer lock of one project until `release()` (or the end of the process)."""

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, lock_path: Path, folder: Path) -> "WriterLock":
        """Take the lock or raise ProjectLockedError naming `folder` and the holder, without waiting."""
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise ProjectLockedError(folder, holder)
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.lseek(fd, _HOLDER_OFFSET, os.SEEK_SET)
        os.write(fd, json.dumps(holder).encode()[:_HOLDER_SIZE].ljust(_HOLDER_SIZE))
        return cls(fd, lock_path)

    def release(self) -> None:
        """Give the lock back; calling it twice is harmless."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)


def _read_holder(fd: int) -> dict | None:
    """The holder's details as written by `acquire`, or None when they cannot be read."""
    try:
        os.lseek(fd, _HOLDER_OFFSET, os.SEEK_SET)
        data = os.read(fd, _HOLDER_SIZE)
        holder = json.loads(data.decode())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None
