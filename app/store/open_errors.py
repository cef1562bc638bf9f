"""What went wrong when a project was opened or first scanned: SQLite's and the system's errors as store errors.

A read-only folder or medium, a full disk and a file locked by another program are not damage: only SQLite's
SQLITE_CORRUPT and SQLITE_NOTADB (and a failed `PRAGMA quick_check`) are reported as ProjectCorruptError, so
that nobody is told to throw a healthy database away.
"""
from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from app.store.errors import (DiskFullError, ProjectCorruptError, ProjectIOError, ProjectLockedError,
                              ProjectNotWritableError, StoreError)

_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def sqlite_error(exc: sqlite3.Error, db_path: Path) -> StoreError:
    """The store error for an sqlite3.Error raised on the database `db_path` (<folder>/.mopeft/project.db)."""
    folder, reason = db_path.parent.parent, str(exc)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if name not in reason:
        reason = f"{reason}; {name}"
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return ProjectCorruptError(db_path, reason)
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and disk_is_full(db_path.parent)):
        return DiskFullError(db_path, reason)
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM) or (
            primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR) and not writable(db_path.parent)):
        return ProjectNotWritableError(folder, reason)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return ProjectLockedError(folder, None)
    return ProjectIOError(db_path, reason)


def os_error(exc: OSError, db_path: Path) -> StoreError | OSError:
    """The store error for an OSError raised while opening the project of `db_path`, or `exc` itself."""
    reason = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    if exc.errno in _NOT_WRITABLE:
        return ProjectNotWritableError(db_path.parent.parent, reason)
    if exc.errno in _FULL:
        return DiskFullError(db_path, reason)
    return exc


def writable(folder: Path) -> bool:
    """True unless the system says `folder` cannot be written (read-only mount, no permission)."""
    return os.access(folder, os.W_OK)


def disk_is_full(folder: Path) -> bool:
    """True when the disk holding `folder` has no free block left for this user."""
    try:
        return os.statvfs(folder).f_bavail == 0
    except (OSError, AttributeError):   # no statvfs on Windows
        return False
