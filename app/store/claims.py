"""Per-image claims: who works on which image of a shared project, so two annotators do not label the same one.

A claim is taken when an annotator opens an image and renewed while their window stays open (`renew`, every
minute or so); it ends when they leave the image or close the project (`release`), or by itself when it has not
been renewed for `CLAIM_TIMEOUT` (a crashed client). Taking one is a single statement that only succeeds when the
image is free, already the same annotator's, or its claim has timed out, so two clients can never both hold it.
"""
from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.store.database import Database, utc_now
from app.store.errors import StoreError

CLAIM_TIMEOUT = timedelta(minutes=5)
"""A claim not renewed for this long is free again (the window renews its claim every minute)."""
ANNOTATOR_ENV = "MOPEFT_ANNOTATOR"
"""Environment variable naming the annotator; otherwise user@host."""


def annotator_name() -> str:
    """Who this client is in claims: $MOPEFT_ANNOTATOR, else the login name at the host name."""
    return os.environ.get(ANNOTATOR_ENV) or f"{getpass.getuser()}@{socket.gethostname()}"


@dataclass(frozen=True)
class Claim:
    """Image `image_id` is being worked on by `annotator` since `claimed_at`, last renewed at `renewed_at` (ISO
    8601 UTC)."""

    image_id: int
    annotator: str
    claimed_at: str
    renewed_at: str


class ClaimedError(StoreError):
    """The image is claimed by another annotator; `claim` says by whom."""

    def __init__(self, message: str, claim: Claim) -> None:
        super().__init__(message)
        self.claim = claim


def _cutoff(timeout: timedelta) -> str:
    return (datetime.now(timezone.utc) - timeout).isoformat(timespec="milliseconds")


class ClaimTable:
    """`project.claims`: the live claims of the project's images."""

    def __init__(self, db: Database, timeout: timedelta = CLAIM_TIMEOUT):
        self._db = db
        self.timeout = timeout

    def claim(self, image_id: int, annotator: str) -> Claim:
        """Take (or renew) the claim of image `image_id` for `annotator`; ClaimedError naming the other annotator
        when someone else holds a claim that has not timed out."""
        now = utc_now()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO claims (image_id, annotator, claimed_at, renewed_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (image_id) DO UPDATE SET annotator = excluded.annotator, "
                "claimed_at = CASE WHEN claims.annotator = excluded.annotator THEN claims.claimed_at "
                "ELSE excluded.claimed_at END, renewed_at = excluded.renewed_at "
                "WHERE claims.annotator = excluded.annotator OR claims.renewed_at < ?",
                (image_id, annotator, now, now, _cutoff(self.timeout)))
        row = self._db.row("SELECT image_id, annotator, claimed_at, renewed_at FROM claims WHERE image_id = ?",
                           (image_id,))
        held = None if row is None else Claim(*row)   # the statement above decided: no second look at the clock
        if held is None:
            raise StoreError(f"image {image_id} could not be claimed (is it still in the project?)")
        if held.annotator != annotator:
            raise ClaimedError(f"{held.annotator} is working on this image (since {held.claimed_at[:16]} UTC)", held)
        return held

    def renew(self, annotator: str) -> int:
        """Renew every claim `annotator` holds (the window's heartbeat); how many."""
        with self._db.transaction() as conn:
            return conn.execute("UPDATE claims SET renewed_at = ? WHERE annotator = ?",
                                (utc_now(), annotator)).rowcount

    def release(self, annotator: str, image_id: int | None = None) -> None:
        """End `annotator`'s claim of `image_id` (None: every claim of theirs)."""
        with self._db.transaction() as conn:
            if image_id is None:
                conn.execute("DELETE FROM claims WHERE annotator = ?", (annotator,))
            else:
                conn.execute("DELETE FROM claims WHERE annotator = ? AND image_id = ?", (annotator, image_id))

    def of_image(self, image_id: int) -> Claim | None:
        """The live claim of an image (None: free, or its claim timed out)."""
        row = self._db.row("SELECT image_id, annotator, claimed_at, renewed_at FROM claims "
                           "WHERE image_id = ? AND renewed_at >= ?", (image_id, _cutoff(self.timeout)))
        return None if row is None else Claim(*row)

    def live(self) -> dict[int, Claim]:
        """Every live claim, by image id."""
        rows = self._db.rows("SELECT image_id, annotator, claimed_at, renewed_at FROM claims WHERE renewed_at >= ?",
                             (_cutoff(self.timeout),))
        return {row[0]: Claim(*row) for row in rows}
