"""Other clients' changes to a shared project as they happen: PostgreSQL's LISTEN/NOTIFY.

Every write of an instance or a proposal on a PostgreSQL project sends `pg_notify(CHANNEL, 'image <id> <sender
pid>')` inside its transaction (delivered at commit, never for a rolled-back one; `notify_image_changed`), and every
new or newly active adapter version `'adapters - <sender pid>'` (`notify_adapters_changed`). A `ChangeListener`
holds a connection of its own that listens, and calls back `(what, image id or None)` for each change a *different*
client made (its own project handle's backend pid is left out).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg

CHANNEL = "mopeft_changes"


def notify_image_changed(writer, image_id: int) -> None:
    """Tell the project's other clients, at commit, that an image's instances or proposals changed."""
    writer.execute("SELECT pg_notify(?, ? || ' ' || pg_backend_pid())", (CHANNEL, f"image {image_id}"))


def notify_adapters_changed(writer) -> None:
    """Tell the project's other clients, at commit, that an adapter version was added or another one is active."""
    writer.execute("SELECT pg_notify(?, ? || ' ' || pg_backend_pid())", (CHANNEL, "adapters -"))


class ChangeListener:
    """Calls `on_change(what, image_id)` from its own thread for each change another client commits to the
    database at `url`: ("image", id) or ("adapters", None); `own_pid` is the backend pid of this client's connection
    (its changes are not reported)."""

    def __init__(self, url: str, own_pid: int, on_change: Callable[[str, int | None], None]) -> None:
        self._own, self._on_change = str(own_pid), on_change
        self._conn = psycopg.connect(url, autocommit=True, application_name="mopeft-annotator-listener")
        self._conn.execute(f"LISTEN {CHANNEL}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="project-changes", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                for note in self._conn.notifies(timeout=0.5):
                    what, image, sender = note.payload.split(" ")
                    if sender != self._own:
                        self._on_change(what, None if image == "-" else int(image))
            except psycopg.Error:
                if not self._stop.is_set():
                    self._stop.wait(1.0)   # the server went away: try again until closed
                else:
                    return

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._conn.close()
