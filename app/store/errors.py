"""Errors of the project store; each message names the project or file and says what to do."""
from __future__ import annotations

from pathlib import Path

from app.errors import AppError


class StoreError(AppError):
    """Base class of every error the project store raises on purpose."""


class ProjectNotFoundError(StoreError):
    """The folder does not exist, or holds no project and `create` was not asked for."""


class DiagnosedError(StoreError):
    """A store error about one file or folder with its diagnosis: `path`, SQLite's or the system's `reason`,
    and the class's `advice` on what it means for the project and what to do."""

    advice = ""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {self.advice.format(reason=reason)}")
        self.path = path
        self.reason = reason


class ProjectCorruptError(DiagnosedError):
    """The database file exists but SQLite cannot read it; it is left untouched."""

    advice = ("the project database is damaged or not a database ({reason}). It was left untouched; restore it "
              "from a backup or move it away to start afresh.")


class ProjectNotWritableError(DiagnosedError):
    """The project's folder or medium refuses writes (read-only mount, no permission): open it read-only."""

    advice = ("the project's folder or disk is read-only ({reason}). Nothing was changed; it can still be opened "
              "read-only, to browse and export.")


class DiskFullError(DiagnosedError):
    """The disk holding the project has no room left; the database itself is fine."""

    advice = ("the disk is full ({reason}). Nothing was changed and the project is not damaged; free some space "
              "and try again.")


class ProjectIOError(DiagnosedError):
    """The project's files could not be read or written for another reason (a failing disk, a lost mount)."""

    advice = ("could not read or write the project database ({reason}). The file was left untouched; check the "
              "disk or network folder and try again.")


class ProjectLockedError(StoreError):
    """Another process (or another `Project` in this one) has the project open for writing."""

    def __init__(self, folder: Path, holder: dict | None):
        who = "another process"
        if holder:
            who = f"process {holder.get('pid', '?')} on {holder.get('host', '?')}"
            if holder.get("since"):
                who += f" (since {holder['since']})"
        super().__init__(f"The project in {folder} is already open for writing by {who}. "
                         "Close it there first, or open this project read-only.")
        self.folder = folder
        self.holder = holder


class SchemaVersionError(StoreError):
    """The database schema is newer than this app reads, or older and cannot be upgraded read-only."""


class ReadOnlyProjectError(StoreError):
    """A change was asked of a project opened read-only."""


class NotFoundError(StoreError, LookupError):
    """No image, label, instance, adapter version or training run with that id (or name)."""


class ConcurrentChangeError(StoreError):
    """Another client changed (or deleted) the instance since this one read it: the change was not made, theirs
    stays."""


class LabelInUseError(StoreError):
    """A label still has instances; deleting it needs a decision about them."""


class MaskError(StoreError, ValueError):
    """A mask is not a 2-D bool array of the image's size, or covers no pixel."""


class ImageFileError(StoreError):
    """An image file cannot be read, is not a supported type, or lies outside the project folder."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ServerError(StoreError):
    """The PostgreSQL server refused a statement or a connection (the message names the database and why)."""


class ServerUnavailableError(ServerError):
    """The PostgreSQL server cannot be reached, or the connection to it was lost."""


class ServerAuthError(ServerError):
    """The PostgreSQL server refused the login, or the role lacks a privilege."""
