"""psycopg's errors as store errors that name the database and say what is wrong: the server down or unreachable,
authentication refused, the database missing, or the server refusing a statement.

Connection failures carry no SQLSTATE in libpq, so they are told apart by libpq's own wording; the message keeps
libpq's text after ours. URLs here never hold a password (app.store.target refuses one), so naming them is safe.
"""
from __future__ import annotations

import psycopg

from app.store.errors import ProjectNotFoundError, ServerAuthError, ServerError, ServerUnavailableError, StoreError

_AUTH = ("password authentication failed", "no password supplied", "authentication failed", "role \"",
         "pg_hba.conf", "certificate")
_DOWN = ("Connection refused", "No such file or directory", "could not translate host name", "timeout expired",
         "Is the server running", "server closed the connection", "Network is unreachable", "No route to host")


def connect_error(exc: psycopg.Error, url: str) -> StoreError:
    """The store error for a failed connection to the database at `url`."""
    reason = _reason(exc)
    if "does not exist" in reason and "database" in reason:
        return ProjectNotFoundError(f"{url}: the database does not exist on that server ({reason}); ask its "
                                    "administrator to create it (createdb), then open it again")
    if any(mark in reason for mark in _AUTH):
        return ServerAuthError(f"{url}: the server refused the login ({reason}). Check the user name and the "
                               "password in your pgpass file, service file or PGPASSWORD (never in the URL)")
    if any(mark in reason for mark in _DOWN):
        return ServerUnavailableError(f"{url}: cannot reach the database server ({reason}); check that it is "
                                      "running and that the host and port are right")
    return ServerError(f"{url}: cannot connect to the database ({reason})")


def server_error(exc: Exception, url: str) -> StoreError:
    """The store error for a statement the server (or the connection to it) failed."""
    reason = _reason(exc)
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(exc, psycopg.OperationalError) and (sqlstate is None or sqlstate.startswith("08")):
        return ServerUnavailableError(f"{url}: lost the connection to the database server ({reason}); the change "
                                      "under way was not saved. Open the project again once the server is back")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return ServerAuthError(f"{url}: your database role may not do this ({reason}); see the grants in "
                               "docs/decisions/0004-postgresql-store.md")
    return ServerError(f"{url}: the database server refused a statement ({reason})")


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
