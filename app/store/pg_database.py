"""The PostgreSQL connection of a project: the methods of app.store.database.Database, on a server.

SQL is written once for both backends with `?` placeholders; `Writer` turns them into psycopg's `%s`. Every
psycopg error comes out as a store error naming the database (app.store.pg_errors). The schema version and the
images root recorded at creation live in the one-row table `mopeft_project`. Several clients may write the same
project at once: there is no writer lock (docs/decisions/0004-postgresql-store.md says what that leaves open).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

import psycopg

from app.store.errors import ReadOnlyProjectError, StoreError
from app.store.pg_changes import ChangeListener, notify_adapters_changed, notify_image_changed
from app.store.pg_errors import connect_error, server_error
from app.store.pg_schema import MIGRATIONS

_BOOKKEEPING = "mopeft_project"
_MIGRATION_LOCK = 0x6D6F70656674   # pg_advisory_xact_lock key: one client applies a step at a time ("mopeft")


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """`sql` with `?` placeholders as psycopg's `%s` (a literal `%` doubled). The store's SQL has no `?` in text."""
    return sql.replace("%", "%%").replace("?", "%s")


class Writer:
    """What a `transaction()` block gets: statements with `?` placeholders, run in that transaction."""

    def __init__(self, conn: psycopg.Connection, location: str):
        self._conn = conn
        self._location = location

    def execute(self, sql: str, params: tuple = ()):
        """Run one statement; the cursor (fetchone, fetchall, rowcount, iteration)."""
        try:
            return self._conn.execute(_pg_sql(sql), params)
        except psycopg.Error as exc:
            raise server_error(exc, self._location) from exc

    def executemany(self, sql: str, rows) -> None:
        """Run one statement once per parameter tuple."""
        rows = list(rows)
        if not rows:
            return
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(_pg_sql(sql), rows)
        except psycopg.Error as exc:
            raise server_error(exc, self._location) from exc

    def insert(self, sql: str, params: tuple = ()) -> int:
        """Run an INSERT into a table with an `id` column; the new row's id."""
        return self.execute(f"{sql} RETURNING id", params).fetchone()[0]


class PgDatabase:
    """One connection to the project's database, shared by its tables; the same methods as `Database`.

    `transaction()` is BEGIN ... COMMIT (nested blocks are savepoints); `snapshot()` a REPEATABLE READ read-only
    transaction. A lock serialises the threads that share the connection. TLS is whatever libpq negotiates with the
    URL's or the service file's `sslmode` (never turned off here); credentials come from libpq (pgpass, service
    file, environment), never from the URL (app.store.target refuses a password there).
    """

    kind = "postgresql"
    migrations = MIGRATIONS
    driver_errors: tuple[type[Exception], ...] = ()   # Writer and the methods here raise store errors already
    immutable = False

    def __init__(self, url: str, readonly: bool):
        self.location = url
        self.readonly = readonly
        self._lock = threading.RLock()
        self._depth = 0
        self._in_snapshot = False
        try:
            self._conn = psycopg.connect(url, autocommit=True, application_name="mopeft-annotator")
        except psycopg.Error as exc:
            raise connect_error(exc, url) from exc
        if readonly:
            self._run("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

    def _run(self, sql: str, params: tuple | None = None):
        try:
            return self._conn.execute(sql, params)
        except psycopg.Error as exc:
            raise server_error(exc, self.location) from exc

    def store_error(self, exc: Exception) -> StoreError:
        """The store error for a psycopg error raised on this database."""
        return server_error(exc, self.location)

    def check_integrity(self) -> None:
        """Nothing to do: the server keeps its own files consistent (its checksums, WAL and backups)."""

    @contextmanager
    def transaction(self) -> Iterator[Writer]:
        """A block whose writes are committed together at its end, or all rolled back if it raises."""
        if self.readonly:
            raise ReadOnlyProjectError(f"{self.location}: the project was opened read-only; it cannot be changed.")
        with self._lock:
            if self._in_snapshot:
                raise StoreError(f"{self.location}: cannot change the project inside a read snapshot; "
                                 "end the snapshot first")
            savepoint = f"nested_{self._depth}"
            self._run("BEGIN" if self._depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield Writer(self._conn, self.location)
            except BaseException:
                self._depth -= 1
                self._undo(savepoint)
                raise
            self._depth -= 1
            try:
                self._run("COMMIT" if self._depth == 0 else f"RELEASE SAVEPOINT {savepoint}")
            except BaseException:
                self._undo(savepoint)
                raise

    def _undo(self, savepoint: str) -> None:
        with suppress(psycopg.Error):   # a lost connection has rolled back already; the first error is the news
            if self._depth == 0:
                self._conn.execute("ROLLBACK")
            else:
                self._conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                self._conn.execute(f"RELEASE SAVEPOINT {savepoint}")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A block whose reads all see the database as it was at the block's first read (REPEATABLE READ); inside
        a transaction or another snapshot it adds nothing."""
        with self._lock:
            if self._depth or self._in_snapshot:
                yield
                return
            self._run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._in_snapshot = True
            try:
                yield
            finally:
                self._in_snapshot = False
                self._run("COMMIT")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """All rows of a query."""
        with self._lock:
            return self._run(_pg_sql(sql), params).fetchall()

    def row(self, sql: str, params: tuple = ()) -> tuple | None:
        """The first row of a query, or None."""
        with self._lock:
            return self._run(_pg_sql(sql), params).fetchone()

    def schema_version(self) -> int:
        """The number of the last schema step applied (0 for a database without a project)."""
        if self.row(f"SELECT to_regclass('{_BOOKKEEPING}')")[0] is None:
            return 0
        row = self.row(f"SELECT version FROM {_BOOKKEEPING}")
        return 0 if row is None else row[0]

    def apply_step(self, number: int, script: str) -> None:
        """Run schema step `number` and record it as the version, in one transaction (rolled back if it fails).
        Clients opening a new project at once take turns; a step another one applied meanwhile is skipped."""
        with self.transaction() as writer:
            writer.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            writer.execute(f"CREATE TABLE IF NOT EXISTS {_BOOKKEEPING} (one INTEGER PRIMARY KEY DEFAULT 1 "
                           "CHECK (one = 1), version INTEGER NOT NULL, images_root TEXT)")
            if self.schema_version() >= number:
                return
            self._run(script)
            writer.execute(f"INSERT INTO {_BOOKKEEPING} (version) VALUES (?) ON CONFLICT (one) "
                           "DO UPDATE SET version = excluded.version", (number,))

    row_lock = " FOR UPDATE SKIP LOCKED"
    """What a SELECT of rows to take ends with: rows another client is taking are skipped, not waited for."""

    def image_changed(self, writer: Writer, image_id: int) -> None:
        """Tell the other clients, when `writer`'s transaction commits, that an image's instances or proposals
        changed (app.store.pg_changes)."""
        notify_image_changed(writer, image_id)

    def adapters_changed(self, writer: Writer) -> None:
        """Tell the other clients, at commit, that an adapter version was added or another one is active."""
        notify_adapters_changed(writer)

    def listen(self, on_change: Callable[[str, int | None], None]) -> ChangeListener:
        """Call `on_change(what, image_id)`, from a thread of its own, for every change another client commits."""
        return ChangeListener(self.location, self._conn.info.backend_pid, on_change)

    def images_root(self) -> str | None:
        """The images folder recorded when the project was made (as its maker's machine saw it), or None."""
        if self.schema_version() == 0:
            return None
        row = self.row(f"SELECT images_root FROM {_BOOKKEEPING}")
        return None if row is None else row[0]

    def record_images_root(self, root: str) -> None:
        """Record where the images are, for clients that give none (after the first schema step)."""
        with self.transaction() as writer:
            writer.execute(f"UPDATE {_BOOKKEEPING} SET images_root = ?", (root,))

    def table_names(self) -> list[str]:
        """The project's tables (the bookkeeping table left out)."""
        return [name for (name,) in self.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> ? "
            "ORDER BY tablename", (_BOOKKEEPING,))]

    def columns(self, table: str) -> list[str]:
        """The columns of `table`, in their order."""
        return [name for (name,) in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", (table,))]

    def id_high_water(self, table: str) -> int:
        """The highest id `table` has ever given (its identity sequence, or max(id) when that is higher)."""
        top = self.row(f'SELECT coalesce(max(id), 0) FROM "{table}"')[0]
        seq = self.row(f"SELECT pg_get_serial_sequence('{table}', 'id')")[0]
        last, called = self.row(f"SELECT last_value, is_called FROM {seq}")
        return max(top, last if called else 0)

    def set_id_high_water(self, writer: Writer, table: str, value: int) -> None:
        """Make `table` give ids above `value` from now on."""
        if value > 0:
            writer.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), ?)", (value,))

    def drop_schema(self) -> None:
        """Drop the project's tables, trigger functions and bookkeeping: the database is as before its creation."""
        functions = [name for (name,) in self.rows(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname LIKE 'mopeft\\_%'")]
        with self.transaction() as writer:
            tables = ", ".join(f'"{name}"' for name in [*self.table_names(), _BOOKKEEPING])
            writer.execute(f"DROP TABLE IF EXISTS {tables} CASCADE")
            for function in functions:
                writer.execute(f"DROP FUNCTION IF EXISTS {function}")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
