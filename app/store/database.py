"""The SQLite connection of a project: WAL mode, one transaction per accepted change, usable from any thread.

`Database` is one of the store's two backends; `app.store.pg_database.PgDatabase` (PostgreSQL) has the same
methods. The tables write their SQL once, with `?` placeholders, and run it through the `Writer` a transaction
block gets (or `rows()` / `row()`); per-backend SQL is the schema steps only (docs/decisions/0004).
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from app.store.errors import ProjectCorruptError, ReadOnlyProjectError, StoreError
from app.store.open_errors import sqlite_error, writable
from app.store.schema import MIGRATIONS


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Writer:
    """What a `transaction()` block gets: statements with `?` placeholders, run in that transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, params: tuple = ()):
        """Run one statement; the cursor (fetchone, fetchall, rowcount, iteration)."""
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows) -> None:
        """Run one statement once per parameter tuple."""
        self._conn.executemany(sql, rows)

    def insert(self, sql: str, params: tuple = ()) -> int:
        """Run an INSERT into a table with an `id` column; the new row's id."""
        return self._conn.execute(sql, params).lastrowid


class Database:
    """One SQLite connection shared by the tables of a project.

    Every write goes through `transaction()`, which commits when its block ends (synchronous=FULL, so a commit
    is on disk before the call returns); nested blocks become savepoints of the outer transaction. A lock
    serialises the threads that share the connection.
    """

    busy_timeout = 10.0
    """Seconds to wait for a lock another connection holds before SQLite gives up (SQLITE_BUSY)."""
    kind = "sqlite"
    migrations = MIGRATIONS
    """This backend's schema steps (app.store.schema's version rule applies them)."""
    driver_errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    """The driver's exceptions that `store_error` turns into store errors."""

    def __init__(self, path: Path, readonly: bool):
        self.path = path
        self.location = str(path)   # what messages name
        self.readonly = readonly
        self.immutable = False   # read as a file nobody changes (read-only on a read-only medium)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            try:
                self._conn = self._open("ro" if readonly else "rwc")
            except sqlite3.Error as exc:
                if not (readonly and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CANTOPEN
                        and not writable(path.parent)):
                    raise
                # A reader of a WAL database needs a -shm file it may create; on a read-only medium there is
                # none, and no writer either, so the file is read as immutable.
                self._conn, self.immutable = self._open("ro&immutable=1"), True
        except sqlite3.Error as exc:
            raise sqlite_error(exc, path) from exc

    def _open(self, mode: str) -> sqlite3.Connection:
        conn = sqlite3.connect(f"{self.path.as_uri()}?mode={mode}", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=self.busy_timeout)
        try:
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def check_integrity(self) -> None:
        """Raise ProjectCorruptError naming what `PRAGMA quick_check` finds damaged (reads every page once)."""
        try:
            problems = [row[0] for row in self.rows("PRAGMA quick_check(5)")]
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.path) from exc
        if problems != ["ok"]:
            raise ProjectCorruptError(self.path, "; ".join(problems))

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (for tests that write a database as an older app did)."""
        return self._conn

    def store_error(self, exc: Exception) -> StoreError:
        """The store error for one of `driver_errors` raised on this database."""
        return sqlite_error(exc, self.path)

    def schema_version(self) -> int:
        """The number of the last schema step applied (0 for a new database): SQLite's `user_version`."""
        return self.row("PRAGMA user_version")[0]

    def apply_step(self, number: int, script: str) -> None:
        """Run schema step `number` and record it as the version, in one transaction (rolled back if it fails)."""
        with self._lock:
            try:
                self._conn.executescript(f"BEGIN IMMEDIATE;\n{script};\nPRAGMA user_version = {number};\nCOMMIT;")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def table_names(self) -> list[str]:
        """The project's tables (SQLite's own left out)."""
        return [name for (name,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%' ORDER BY name")]

    def columns(self, table: str) -> list[str]:
        """The columns of `table`, in their order."""
        return [row[1] for row in self.rows(f'PRAGMA table_info("{table}")')]

    def id_high_water(self, table: str) -> int:
        """The highest id `table` has ever given (an AUTOINCREMENT table remembers deleted rows' ids)."""
        seq = self.row("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)) if self._has_sequences() else None
        top = self.row(f'SELECT coalesce(max(id), 0) FROM "{table}"')[0]
        return max(top, seq[0] if seq else 0)

    def set_id_high_water(self, writer: Writer, table: str, value: int) -> None:
        """Make `table` give ids above `value` from now on (AUTOINCREMENT tables only; others follow max(id))."""
        if self._has_sequences() and self.row("SELECT 1 FROM sqlite_master WHERE name = ? AND sql LIKE "
                                              "'%AUTOINCREMENT%'", (table,)):
            writer.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
            writer.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, value))

    def _has_sequences(self) -> bool:
        return self.row("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'") is not None

    @contextmanager
    def transaction(self) -> Iterator[Writer]:
        """A block whose writes are committed together at its end, or all rolled back if it raises."""
        if self.readonly:
            raise ReadOnlyProjectError(f"{self.path}: the project was opened read-only; it cannot be changed.")
        with self._lock:
            if self._depth == 0 and self._conn.in_transaction:
                raise StoreError(f"{self.path}: cannot change the project inside a read snapshot; "
                                 "end the snapshot first")
            savepoint = f"nested_{self._depth}"
            self._conn.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield Writer(self._conn)
            except BaseException:
                self._depth -= 1
                self._undo(savepoint)
                raise
            self._depth -= 1
            try:
                self._conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {savepoint}")
            except BaseException:
                self._undo(savepoint)
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A block whose reads all see the database as it was at the block's first read, whatever other
        connections commit meanwhile (a deferred read transaction; works read-only too).

        Holds the connection's lock for the whole block, so other threads sharing this connection wait; inside a
        transaction (or another snapshot) it adds nothing, the reads already see one state.
        """
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    def _undo(self, savepoint: str) -> None:
        if not self._conn.in_transaction:
            return   # SQLite rolled the whole transaction back itself, as on SQLITE_FULL: no savepoint is left
        if self._depth == 0:
            self._conn.execute("ROLLBACK")
        else:
            self._conn.execute(f"ROLLBACK TO {savepoint}")
            self._conn.execute(f"RELEASE {savepoint}")

    row_lock = ""
    """What a SELECT of rows to take ends with: nothing on SQLite (one writer at a time)."""

    def image_changed(self, writer: Writer, image_id: int) -> None:
        """Nothing to tell: a folder's project has one writer (PgDatabase notifies the other clients)."""

    def adapters_changed(self, writer: Writer) -> None:
        """Nothing to tell (see `image_changed`)."""

    def listen(self, on_change) -> None:
        """None: no other client writes a folder's project while this one holds its lock."""
        return None

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """All rows of a query."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def row(self, sql: str, params: tuple = ()) -> tuple | None:
        """The first row of a query, or None."""
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL into the database file)."""
        with self._lock:
            self._conn.close()
