"""What `Project.open` is given: a folder, or the URL of a PostgreSQL database plus where its images are.

A URL is `postgresql://USER@HOST[:PORT]/DB[?sslmode=...]` or `postgres://...` (libpq's key=value form is not
accepted: one URL names the project everywhere). It may not hold a password: libpq takes it from the pgpass file,
a service file or PGPASSWORD, so it is never in a command line, a log or the project. The images are stored
with paths relative to an images root: the one recorded in the database when the project was made, mapped for
this machine by `images-roots.json` in the user's config folder, unless the caller gives one.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from app.app_env import config_dir
from app.store.errors import StoreError

URL_SCHEMES = ("postgresql://", "postgres://")
ROOTS_FILE = "images-roots.json"
_SECRETS = ("password", "sslpassword")


def is_database_url(target: object) -> bool:
    """True when `target` names a PostgreSQL database rather than a folder."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def checked_url(url: str) -> str:
    """`url` if libpq can read it and it holds no password; StoreError saying where the password goes otherwise."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        fields = conninfo_to_dict(url)
    except Exception as exc:   # psycopg.ProgrammingError; its text does not repeat a password
        raise StoreError(f"not a valid PostgreSQL URL: {type(exc).__name__}: it should look like "
                         "postgresql://USER@HOST/DATABASE") from None
    if any(fields.get(key) for key in _SECRETS):
        raise StoreError("the database URL holds a password; remove it (it would end up in shell histories and "
                         "logs) and give it to libpq instead: a ~/.pgpass line (or the file PGPASSFILE names), a "
                         "service file entry (PGSERVICEFILE, then postgresql://?service=NAME), or PGPASSWORD")
    if not fields.get("dbname"):
        raise StoreError(f"{url}: the URL names no database; it should look like postgresql://USER@HOST/DATABASE")
    return url


def roots_file() -> Path:
    """The per-machine mapping of recorded images roots to local folders: {"/recorded/root": "/local/folder"}."""
    return config_dir() / ROOTS_FILE


def local_images_root(recorded: str) -> Path:
    """Where the images of a project recorded at `recorded` are on this machine: the longest entry of
    `roots_file()` that is `recorded` or a folder above it, applied; `recorded` itself when none is."""
    mapping = _read_roots()
    recorded_path = Path(recorded)
    for prefix in sorted(mapping, key=len, reverse=True):
        try:
            rest = recorded_path.relative_to(prefix)
        except ValueError:
            continue
        return Path(os.path.expanduser(mapping[prefix])) / rest
    return recorded_path


def _read_roots() -> dict[str, str]:
    path = roots_file()
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read the images-root mapping ({exc}); it should be a JSON object "
                         '{"/root/as/recorded": "/folder/on/this/machine"}') from exc
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise StoreError(f"{path}: the images-root mapping should be a JSON object of folder names, "
                         '{"/root/as/recorded": "/folder/on/this/machine"}')
    return mapping
