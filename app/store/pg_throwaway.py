"""A throwaway PostgreSQL server for the tests and `mopeft bench team`: `initdb` into a temporary folder, `pg_ctl start` on a free local port
with its unix socket in that folder (no TCP listener, so parallel runs on one machine never meet), one fresh database
per test, `pg_ctl stop` and the folder removed at the end.

The binaries are found on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (the newest); `.ci/run` makes sure
they are there. initdb refuses to run as root, so under root the server runs as the `postgres` user (or `nobody`).
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "mopeft"


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when no PostgreSQL server is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_user() -> str | None:
    """Who runs the server: None (this user) unless this is root, which initdb refuses."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd  # Unix only

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists to run the test server")


class PgServer:
    """A running test server; `new_database()` gives the URL of a fresh, empty database on it."""

    def __init__(self, binaries: Path):
        self._bin = binaries
        self._user = _server_user()
        self.folder = Path(tempfile.mkdtemp(prefix="mopeft-pg-"))   # short: a socket path has ~100 bytes
        if self._user:
            shutil.chown(self.folder, self._user)
        self.port = _free_port()
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = (f"-k {self.folder} -p {self.port} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", str(self.folder / "log"), "-w",
                  "start")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bin / tool), *args]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}")

    def url(self, database: str, user: str = SUPERUSER) -> str:
        """The URL of `database` on this server (over the unix socket)."""
        return f"postgresql://{user}@/{database}?host={self.folder}&port={self.port}"

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
