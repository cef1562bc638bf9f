"""Moving a project between backends (a folder and a PostgreSQL database, either way, or two of a kind), exactly:
every row of every table with its id, the id counters (a proposal id is never reused after the move either), and
the adapter files with their checksums.

The one thing a move may add is an adapter version's SHA-256 when it had none (recorded before schema step 5):
it is computed from the file, since a shared project loads no file unchecked. Images are not copied: the
destination's images root must be the same folder or hold a copy (`missing_images` lists those it lacks).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.atomic_file import atomic_output
from app.store.errors import StoreError
from app.store.hashing import file_hash
from app.store.project import Project
from app.store.schema import SCHEMA_VERSION

TABLES = ("images", "labels", "training_runs", "adapter_versions", "validation_split", "proposals", "instances")
NOT_MOVED = ("claims", "jobs")
"""Session state a move leaves behind: who was working on which image, the queue of fine-tuning jobs."""
"""Every table, in an order that inserts what a row refers to before the row."""
_WITHOUT_ID = {"validation_split"}
_BATCH = 1000

Progress = Callable[[str, int, int], None]
"""progress(table, rows copied, rows in the table), after each batch."""


@dataclass
class Moved:
    """What a move did: rows per table, adapter files copied, checksums added, and what to tell the user."""

    rows: dict[str, int] = field(default_factory=dict)
    files_copied: int = 0
    checksums_added: int = 0
    missing_images: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def move_project(source: Project, destination: Project, progress: Progress | None = None) -> Moved:
    """Copy everything of `source` into `destination`, an empty project at this app's schema version, in one
    transaction of the destination (a failure leaves it empty). Raises StoreError when the destination holds
    anything, or when either side has tables this app does not know."""
    for project in (source, destination):
        tables = set(project._db.table_names())
        known = set(TABLES) | set(NOT_MOVED)
        if tables != known or project._db.schema_version() != SCHEMA_VERSION:
            raise StoreError(f"{project.location}: its tables are not those of schema version {SCHEMA_VERSION} "
                             f"({', '.join(sorted(tables ^ known)) or 'another version'}); open it with "
                             "this app for writing first")
    taken = [table for table in TABLES if destination._db.row(f'SELECT 1 FROM "{table}" LIMIT 1')]
    if taken:
        raise StoreError(f"{destination.location} already holds a project with data (in {', '.join(taken)}); "
                         "a move never overwrites one: choose an empty destination, or delete that project first")
    moved = Moved()
    with source.snapshot(), destination._db.transaction() as out:
        for table in TABLES:
            moved.rows[table] = _copy_table(source, out, table, progress)
        for table in TABLES:
            if table not in _WITHOUT_ID:
                destination._db.set_id_high_water(out, table, source._db.id_high_water(table))
        _move_adapter_files(source, destination, out, moved)
    moved.missing_images = [image.path for image in destination.images.list()
                            if not destination.path_of(image.path).is_file()]
    return moved


def _copy_table(source: Project, out, table: str, progress: Progress | None) -> int:
    columns = source._db.columns(table)
    order = "image_id" if table in _WITHOUT_ID else "id"
    names = ", ".join(columns)
    rows = source._db.rows(f'SELECT {names} FROM "{table}" ORDER BY {order}')
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    for start in range(0, len(rows), _BATCH):
        out.executemany(insert, rows[start:start + _BATCH])
        if progress is not None:
            progress(table, min(start + _BATCH, len(rows)), len(rows))
    if not rows and progress is not None:
        progress(table, 0, 0)
    return len(rows)


def _move_adapter_files(source: Project, destination: Project, out, moved: Moved) -> None:
    """Each adapter version's file where the destination looks for it, checked against the recorded SHA-256."""
    for version in source.adapters.list():
        origin, target = source.path_of(version.path), destination.path_of(version.path)
        if not origin.is_file():
            moved.notes.append(f"adapter version {version.id}: its file {origin} is missing; the version was moved "
                               "without it")
            continue
        digest = file_hash(origin)
        if version.sha256 is None:
            out.execute("UPDATE adapter_versions SET sha256 = ? WHERE id = ?", (digest, version.id))
            moved.checksums_added += 1
        elif digest != version.sha256:
            raise StoreError(f"{origin}: the file of adapter version {version.id} does not match its recorded "
                             "checksum; nothing was moved")
        if origin.resolve() != target.resolve() and not (target.is_file() and file_hash(target) == digest):
            _copy_file(origin, target, digest)
            moved.files_copied += 1


def _copy_file(origin: Path, target: Path, digest: str) -> None:
    """Copy `origin` to `target` atomically, refusing (and leaving nothing) if what was read is not `digest`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copied = hashlib.sha256()
    with open(origin, "rb") as src, atomic_output(target, "wb") as out:
        while chunk := src.read(1 << 20):
            copied.update(chunk)
            out.write(chunk)
        if copied.hexdigest() != digest:
            raise StoreError(f"{origin} changed while it was copied to {target}; nothing was moved")
