"""The adapter versions of a project: saved fine-tuning results, of which at most one is active."""
from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from app.store.database import Database, utc_now
from app.store.errors import NotFoundError, StoreError
from app.store.hashing import file_hash
from app.store.records import AdapterVersion

_COLUMNS = "id, path, base_model, config, metrics, created_at, active, training_run_id, sha256"


def _version(row: tuple) -> AdapterVersion:
    return AdapterVersion(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]), row[5], bool(row[6]),
                          row[7], row[8])


class AdapterTable:
    """`project.adapters`: adapter versions (files under `.mopeft/adapters/`) and which one is in use.

    Each version records its file's SHA-256 (schema step 5). `file()` checks it before a file is used; on a shared
    project (`verify`, PostgreSQL) a version without one is refused too, since another client wrote the file.
    """

    def __init__(self, db: Database, folder: Path, verify: bool = False):
        self._db = db
        self._folder = folder
        self._verify = verify

    def add(self, path: str | os.PathLike, base_model: str, config: dict, metrics: dict,
            training_run_id: int | None = None) -> AdapterVersion:
        """Record an adapter file (absolute, or relative to the project folder; it must exist inside it).

        The new version is not made active; call `set_active` for that.
        """
        given = Path(path)
        absolute = given if given.is_absolute() else self._folder / given
        try:
            rel = PurePosixPath(*absolute.resolve().relative_to(self._folder).parts).as_posix()
        except ValueError:
            raise StoreError(f"{path}: adapter files must lie inside the project folder {self._folder}") from None
        if not absolute.is_file():
            raise StoreError(f"{absolute}: no such adapter file")
        digest = file_hash(absolute)
        with self._db.transaction() as conn:
            version_id = conn.insert(
                "INSERT INTO adapter_versions (path, base_model, config, metrics, created_at, training_run_id, "
                "sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rel, base_model, json.dumps(config), json.dumps(metrics), utc_now(), training_run_id, digest))
            self._db.adapters_changed(conn)
        return self.get(version_id)

    def file(self, version: AdapterVersion) -> Path:
        """The version's adapter file, once its content matches the recorded SHA-256 (StoreError otherwise: a
        file changed, replaced or still being copied is never loaded)."""
        path = self._folder / version.path
        if version.sha256 is None:
            if not self._verify:
                return path      # recorded before schema step 5 by this machine's app
            raise StoreError(f"{path}: adapter version {version.id} records no checksum, so its file cannot be "
                             "trusted on a shared project; move the project with `mopeft migrate`, which adds it")
        try:
            digest = file_hash(path)
        except OSError as exc:
            raise StoreError(f"{path}: cannot read adapter version {version.id}'s file ({exc.strerror})") from exc
        if digest != version.sha256:
            raise StoreError(f"{path}: the file of adapter version {version.id} does not match the checksum "
                             "recorded with it (changed, replaced or partly copied); it is not used")
        return path

    def get(self, version_id: int) -> AdapterVersion:
        """The adapter version with this id; NotFoundError if there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM adapter_versions WHERE id = ?", (version_id,))
        if row is None:
            raise NotFoundError(f"no adapter version with id {version_id} in this project")
        return _version(row)

    def list(self) -> list[AdapterVersion]:
        """Every adapter version, oldest first."""
        return [_version(r) for r in self._db.rows(f"SELECT {_COLUMNS} FROM adapter_versions ORDER BY id")]

    def active(self) -> AdapterVersion | None:
        """The active adapter version, or None when the base model is in use."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM adapter_versions WHERE active = 1")
        return None if row is None else _version(row)

    def set_active(self, version_id: int | None) -> AdapterVersion | None:
        """Make this version the active one, or none (None: back to the base model)."""
        with self._db.transaction() as conn:
            if version_id is not None:
                self.get(version_id)
            conn.execute("UPDATE adapter_versions SET active = 0 WHERE active = 1")
            if version_id is not None:
                conn.execute("UPDATE adapter_versions SET active = 1 WHERE id = ?", (version_id,))
            self._db.adapters_changed(conn)
        return self.active()
