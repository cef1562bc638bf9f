"""The store tests run against both backends: a test that takes `backend` runs once on SQLite (a project folder) and
once on PostgreSQL (a fresh database per test on the session's server, app/store/pg_throwaway.py, with the images in the
test's folder as the images root).

Tests about SQLite's files themselves stay SQLite-only and take no `backend`: test_store_open.py (read-only media,
a full disk at open, a database locked by another program, damaged pages, temporary adapter files cleaned under the
writer lock), test_store_disk_full.py (SQLite's SQLITE_FULL and max_page_count), test_store_processes.py and
test_reliability_kill.py (kill -9 of a writer holding the folder's lock, the lock itself), and the SQLite checks
inside the shared tests (WAL mode, a corrupt file). Everything else, the hostile image files included (they are
about the folder of images, which both backends scan the same way), takes `backend`.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.store import Project


class Backend:
    """Opens the project of a folder of images on one backend: `open(folder, ...)` is `Project.open` for SQLite, and
    for PostgreSQL the project in the folder's own database (made on first use) with the folder as images root."""

    def __init__(self, name: str, server=None):
        self.name = name
        self._server = server
        self._urls: dict[Path, str] = {}

    @property
    def sqlite(self) -> bool:
        return self.name == "sqlite"

    def target(self, folder: os.PathLike) -> str | Path:
        """What Project.open is given for `folder`: the folder, or the URL of its database."""
        if self.sqlite:
            return Path(folder)
        key = Path(folder).resolve()
        if key not in self._urls:
            self._urls[key] = self._server.new_database()
        return self._urls[key]

    def open(self, folder: os.PathLike, create: bool = False, readonly: bool = False) -> Project:
        """Project.open on this backend; a new PostgreSQL project records `folder` as its images root."""
        if self.sqlite:
            return Project.open(folder, create=create, readonly=readonly)
        return Project.open(self.target(folder), create=create, readonly=readonly,
                            images_root=folder if create else None)

    def database(self, folder: os.PathLike):
        """A raw Database / PgDatabase of the folder's project, for tests that write as an older app did."""
        if self.sqlite:
            from app.store.database import Database

            db_path = Path(folder) / ".mopeft" / "project.db"
            db_path.parent.mkdir(exist_ok=True)
            return Database(db_path, readonly=False)
        from app.store.pg_database import PgDatabase

        return PgDatabase(self.target(folder), readonly=False)

    def set_schema_version(self, folder: os.PathLike, version: int) -> None:
        """Write `version` as the project's schema version, as a newer app would have."""
        db = self.database(folder)
        try:
            if self.sqlite:
                db.connection.execute(f"PRAGMA user_version = {version}")
            else:
                with db.transaction() as writer:
                    writer.execute("UPDATE mopeft_project SET version = ?", (version,))
        finally:
            db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend(request) -> Backend:
    """The store backend a test runs on (see the module docstring)."""
    if request.param == "sqlite":
        return Backend("sqlite")
    return Backend("postgresql", request.getfixturevalue("pg_server"))
