"""A project: a folder of images with its database in `<folder>/.mopeft/project.db`."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.store.adapters import AdapterTable
from app.store.database import Database
from app.store.errors import ProjectNotFoundError
from app.store.images import ImageTable
from app.store.instances import InstanceTable
from app.store.labels import LabelTable
from app.store.lock import WriterLock
from app.store.schema import check_readable, migrate
from app.store.training_runs import TrainingRunTable

STORE_DIR = ".mopeft"
DB_NAME = "project.db"
LOCK_NAME = "project.lock"
ADAPTERS_DIR = "adapters"


class Project:
    """An open project. Use `Project.open(...)` as a context manager, or call `close()`.

    Tables: `images`, `labels`, `instances`, `adapters` (adapter versions), `training_runs`. Each change is
    committed when the call returns. One process at a time may open a project for writing (ProjectLockedError
    otherwise); any number may open it read-only, alongside the writer. To read from a worker thread while the
    GUI writes, open a second, read-only Project there.
    """

    def __init__(self, folder: Path, db: Database, lock: WriterLock | None):
        self.folder = folder
        self.readonly = db.readonly
        self._db = db
        self._lock = lock
        self.images = ImageTable(db, folder)
        self.labels = LabelTable(db)
        self.instances = InstanceTable(db)
        self.adapters = AdapterTable(db, folder)
        self.training_runs = TrainingRunTable(db)

    @classmethod
    def open(cls, folder: str | os.PathLike, create: bool = False, readonly: bool = False) -> "Project":
        """Open the project of `folder`.

        create: make a new project there if the folder has none (not with readonly).
        readonly: take no writer lock and refuse every change; works while another process writes.
        Raises ProjectNotFoundError, ProjectLockedError, SchemaVersionError or ProjectCorruptError.
        """
        if create and readonly:
            raise ValueError("a project cannot be created read-only")
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise ProjectNotFoundError(f"{folder}: no such folder")
        store = folder / STORE_DIR
        db_path = store / DB_NAME
        if not db_path.is_file() and not create:
            raise ProjectNotFoundError(f"{folder} holds no MoPEFT project (no {STORE_DIR}/{DB_NAME}); "
                                       "create one by opening the folder in the app or with --project on import")
        if readonly:
            db = Database(db_path, readonly=True)
            try:
                check_readable(db.connection, db_path)
            except BaseException:
                db.close()
                raise
            return cls(folder, db, None)
        (store / ADAPTERS_DIR).mkdir(parents=True, exist_ok=True)
        lock = WriterLock.acquire(store / LOCK_NAME, folder)
        try:
            db = Database(db_path, readonly=False)
            try:
                migrate(db.connection, db_path)
                project = cls(folder, db, lock)
                project.training_runs.mark_interrupted()
            except BaseException:
                db.close()
                raise
        except BaseException:
            lock.release()
            raise
        return project

    @property
    def adapters_dir(self) -> Path:
        """Folder where adapter files of this project are saved."""
        return self.folder / STORE_DIR / ADAPTERS_DIR

    def path_of(self, relative_path: str) -> Path:
        """Absolute path of a file stored relative to the project folder (an image's or adapter's `path`)."""
        return self.folder / relative_path

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several changes into one commit: all of them are kept, or none if the block raises."""
        with self._db.transaction():
            yield

    def close(self) -> None:
        """Close the database and give the writer lock back. Safe to call twice."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.folder)!r}, readonly={self.readonly})"
