"""A project: a folder of images with its database in `<folder>/.mopeft/project.db`, or a PostgreSQL database
with its images under an images root (docs/decisions/0004-postgresql-store.md)."""
from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from app.store.adapters import AdapterTable
from app.store.claims import ClaimTable
from app.store.database import Database
from app.store.errors import ProjectNotFoundError, ReadOnlyProjectError, StoreError
from app.store.images import ImageTable
from app.store.instances import InstanceTable
from app.store.jobs import JobTable
from app.store.labels import LabelTable
from app.store.lock import WriterLock
from app.store.open_errors import os_error, sqlite_error
from app.store.proposals import ProposalTable
from app.store.schema import check_readable, migrate
from app.store.target import checked_url, is_database_url, local_images_root, roots_file
from app.store.training_runs import TrainingRunTable

STORE_DIR = ".mopeft"
DB_NAME = "project.db"
LOCK_NAME = "project.lock"
ADAPTERS_DIR = "adapters"
# The temporary file app.mopeft.adapter_file.save_adapter writes before renaming it into place (through
# app.atomic_file.atomic_output: ".<name>.safetensors.XXXXXXXX.part"), and the one earlier versions wrote
# ("<name>.safetensors" + 8 characters + ".tmp"), in the adapters folder.
ADAPTER_TEMP_FILE = re.compile(r"\..+\.safetensors\.[a-z0-9_]{8}\.part|.+\.safetensors[a-z0-9_]{8}\.tmp")


class Project:
    """An open project. Use `Project.open(...)` as a context manager, or call `close()`.

    Tables: `images`, `labels`, `instances`, `proposals` (automatic ones), `adapters` (adapter versions),
    `training_runs`. Each change is committed when the call returns. One process at a time may open a project for
    writing (ProjectLockedError otherwise); any number may open it read-only, alongside the writer. To read from a worker thread while the
    GUI writes, open a second, read-only Project there. A project on PostgreSQL takes no writer lock: several clients
    write it at once. `folder` is where its images (and adapter files) are; `location` names the project in messages
    (the folder, or the database URL).
    """

    def __init__(self, folder: Path, db, lock: WriterLock | None, created: bool = False):
        self.folder = folder
        self.location = db.location if db.kind == "postgresql" else str(folder)
        self.on_server = db.kind == "postgresql"
        self.readonly = db.readonly
        self.created = created      # True when this open made the project (see remove_if_empty)
        self.notes: list[str] = []  # what opening found and did that the user should hear about
        self._db = db
        self._lock = lock
        self.images = ImageTable(db, folder)
        self.labels = LabelTable(db)
        self.instances = InstanceTable(db)
        self.proposals = ProposalTable(db)
        self.adapters = AdapterTable(db, folder, verify=self.on_server)
        self.training_runs = TrainingRunTable(db)
        self.claims = ClaimTable(db)
        self.jobs = JobTable(db)

    @classmethod
    def open(cls, folder: str | os.PathLike, create: bool = False, readonly: bool = False,
             images_root: str | os.PathLike | None = None) -> "Project":
        """Open the project of `folder`; `PRAGMA quick_check` reads the whole database first.

        `folder` may instead be a `postgresql://USER@HOST/DB` URL (no password: app.store.target): the project in
        that database (which must exist), its images under `images_root`, by default the root recorded when it was
        made, mapped for this machine (`app.store.target.local_images_root`). `create` then makes the project's
        tables in the empty database and records `images_root`. Besides the errors below it raises ServerError
        (ServerUnavailableError, ServerAuthError) naming the database.

        create: make a new project there if the folder has none (not with readonly).
        readonly: take no writer lock and refuse every change; works while another process writes, and on a
        read-only folder or medium.
        Raises ProjectNotFoundError, ProjectLockedError (another writer, or a file locked by another program),
        ProjectNotWritableError (read-only folder or medium: open it read-only), DiskFullError, SchemaVersionError,
        ProjectCorruptError (real damage only) or ProjectIOError; what the opening did or could not do (a run
        marked interrupted, a temporary file removed) is in `notes`.
        """
        if create and readonly:
            raise ValueError("a project cannot be created read-only")
        if is_database_url(folder):
            return cls._open_on_server(checked_url(folder), create, readonly, images_root)
        if images_root is not None:
            raise ValueError("images_root is for a project on a database server; a folder's images are the folder")
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise ProjectNotFoundError(f"{folder}: no such folder")
        db_path = folder / STORE_DIR / DB_NAME
        if not db_path.is_file() and not create:
            raise ProjectNotFoundError(f"{folder} holds no MoPEFT project (no {STORE_DIR}/{DB_NAME}); "
                                       "create one by opening the folder in the app or with --project on import")
        try:
            return cls._open_reader(folder, db_path) if readonly else cls._open_writer(folder, db_path)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, db_path) from exc
        except OSError as exc:
            raise os_error(exc, db_path) from exc

    @classmethod
    def _open_reader(cls, folder: Path, db_path: Path) -> "Project":
        db = Database(db_path, readonly=True)
        try:
            db.check_integrity()
            check_readable(db)
        except BaseException:
            db.close()
            raise
        project = cls(folder, db, None)
        wal = db_path.with_name(f"{DB_NAME}-wal")
        if db.immutable and wal.is_file() and wal.stat().st_size > 0:
            project.notes.append(f"{wal} holds the project's last changes, which cannot be read on a read-only "
                                 "folder or disk; copy the folder to a writable disk and open it there to see them.")
        return project

    @classmethod
    def _open_writer(cls, folder: Path, db_path: Path) -> "Project":
        store = db_path.parent
        (store / ADAPTERS_DIR).mkdir(parents=True, exist_ok=True)
        lock = WriterLock.acquire(store / LOCK_NAME, folder)
        try:
            created = not db_path.is_file()     # checked under the lock: no other process is creating it now
            db = Database(db_path, readonly=False)
            try:
                db.check_integrity()
                migrate(db)
                project = cls(folder, db, lock, created)
                project._mark_interrupted_runs()
                project._remove_unfinished_adapter_files()
            except BaseException:
                db.close()
                raise
        except BaseException:
            lock.release()
            raise
        return project

    @classmethod
    def _open_on_server(cls, url: str, create: bool, readonly: bool,
                        images_root: str | os.PathLike | None) -> "Project":
        from app.store.pg_database import PgDatabase

        db = PgDatabase(url, readonly)
        try:
            version = db.schema_version()
            if version == 0 and not create:
                raise ProjectNotFoundError(f"{url} holds no MoPEFT project; make one with `mopeft migrate --from "
                                           f"FOLDER --to {url}` or `mopeft import --project {url} --images-root "
                                           "FOLDER FILE.json`")
            recorded = db.images_root()
            if images_root is None and recorded is None and version == 0:
                raise ProjectNotFoundError(f"{url}: a new project needs the folder of its images (--images-root)")
            if readonly:
                check_readable(db)
            else:
                migrate(db)
            root = (Path(images_root).expanduser() if images_root is not None
                    else local_images_root(recorded) if recorded is not None else None)
            if root is None:
                raise ProjectNotFoundError(f"{url} records no images folder; give it (--images-root FOLDER)")
            root = root.resolve()
            if not root.is_dir():
                raise ProjectNotFoundError(
                    f"{root}: the images folder of {url} is not on this machine; give the folder that holds them "
                    f"(--images-root) or map {recorded or root} to it in {roots_file()}")
            if recorded is None and not readonly:
                db.record_images_root(str(root))
            project = cls(root, db, None, created=version == 0)
            if not readonly:
                project._make_adapters_dir()
        except BaseException:
            db.close()
            raise
        return project

    def _make_adapters_dir(self) -> None:
        """The folder adapter files are saved to on a shared images root; a read-only share is noted, not fatal."""
        try:
            self.adapters_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.notes.append(f"Cannot create {self.adapters_dir} ({exc.strerror}): fine-tuning from here cannot "
                              "save its adapter versions; annotating works")

    def _mark_interrupted_runs(self) -> None:
        """Mark runs still 'running' as interrupted; a failure is noted, never fatal (it changes no annotation)."""
        try:
            self.training_runs.mark_interrupted()
        except (sqlite3.Error, StoreError) as exc:
            self.notes.append(f"Could not mark the training runs left running by an earlier session as "
                              f"interrupted ({exc}); they show as running until the project is opened again.")

    def _remove_unfinished_adapter_files(self) -> None:
        """Delete the temporary files of adapter saves that were interrupted (the writer lock is held, so no
        save is under way); each is noted in `notes`. What cannot be deleted is noted and left."""
        removed, left = [], []
        for path in sorted(self.adapters_dir.iterdir()):
            if ADAPTER_TEMP_FILE.fullmatch(path.name) and path.is_file() and not path.is_symlink():
                try:
                    path.unlink()
                    removed.append(path.name)
                except OSError as exc:
                    left.append(f"{path.name} ({exc.strerror})")
        if removed:
            self.notes.append(f"Removed {len(removed)} unfinished adapter file(s) left in {self.adapters_dir} by an "
                              f"interrupted save: {', '.join(removed)}")
        if left:
            self.notes.append(f"Could not remove unfinished adapter file(s) in {self.adapters_dir}: {', '.join(left)}")

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

    def listen_changes(self, on_change: Callable[[str, int | None], None]):
        """On a shared (PostgreSQL) project: call `on_change(what, image_id)` from a thread of its own whenever
        another client commits a change: ("image", id) to an image's instances or proposals, ("adapters", None) to
        the adapter versions (a new one, another active), until the returned listener's `close()`. None on a
        folder's project (no other client writes it)."""
        return self._db.listen(on_change)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read one consistent state: every read in the block sees the project as it was at the first one, even
        while another process (the app) commits changes. For exports and other multi-query reads."""
        with self._db.snapshot():
            yield

    def remove_if_empty(self) -> None:
        """Close the project and, if it holds nothing (no row in any table, no adapter file), delete its
        `.mopeft` folder: undoes a project created for a command that then failed (check `created` first).

        The database is deleted while the writer lock is still held, so no other process has it open for
        writing; what cannot be deleted (a file another process holds) is left.
        """
        if self.readonly:
            raise ReadOnlyProjectError(f"{self.location}: the project was opened read-only; it cannot be removed.")
        empty = (not any(self._db.row(f'SELECT 1 FROM "{table}" LIMIT 1') for table in self._db.table_names())
                 and not (self.adapters_dir.is_dir() and any(self.adapters_dir.iterdir())))
        store = self.folder / STORE_DIR
        if self.on_server:      # the tables go; the images root's .mopeft/adapters only if empty (rmdir)
            if empty:
                self._db.drop_schema()
                _remove(self.adapters_dir)
                _remove(store)
            self.close()
            return
        self._db.close()
        self._db = None
        if empty:
            for path in (store / DB_NAME, store / f"{DB_NAME}-wal", store / f"{DB_NAME}-shm", self.adapters_dir,
                         store / LOCK_NAME):        # POSIX lets the held lock file go too; Windows refuses
                _remove(path)
        self.close()
        if empty:
            _remove(store / LOCK_NAME)
            _remove(store)

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
        return f"Project({self.location!r}, readonly={self.readonly})"


def _remove(path: Path) -> None:
    """Delete a file or an empty folder if it is there and can be deleted."""
    with suppress(OSError):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
