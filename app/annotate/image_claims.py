"""Which image of a shared project this annotator works on, for the session: the claim of the image shown, taken
on opening it and given back on leaving it, renewed by the window's minute timer, and the other annotators' claims
for the image list. A project of one's own (a folder) has no claims: every call is then a no-op."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from app.store import Project, StoreError
from app.store.claims import Claim, ClaimedError, annotator_name

_STORE_ERRORS = (StoreError, sqlite3.Error, OSError)


class ImageClaims:
    """The session's claims. `tell(text)` is told when the image opened is another annotator's, `warn(text)` when a
    claim could not be written."""

    def __init__(self, project: Project, tell: Callable[[str], None], warn: Callable[[str], None]) -> None:
        self.project, self._tell, self._warn = project, tell, warn
        self.annotator = annotator_name()
        self.used = project.on_server and not project.readonly
        self.by_other: Claim | None = None   # the current image's claim, when another annotator holds it

    def take(self, image_id: int, left: int | None = None, quiet: bool = False) -> None:
        """Claim `image_id` (and give back `left`, the image left); `quiet`: say nothing new of a known other."""
        if not self.used:
            return
        before = self.by_other
        try:
            if left is not None:
                self.project.claims.release(self.annotator, left)
            self.project.claims.claim(image_id, self.annotator)
            self.by_other = None
        except ClaimedError as exc:
            self.by_other = exc.claim
            if not quiet or before is None:
                self._tell(f"{exc}: you can look and annotate, but your work may meet theirs")
        except _STORE_ERRORS as exc:
            self._warn(f"Could not record that you work on this image: {exc}")

    def others(self) -> dict[int, Claim]:
        """The live claims of other annotators, by image id."""
        if not self.used:
            return {}
        try:
            return {i: c for i, c in self.project.claims.live().items() if c.annotator != self.annotator}
        except _STORE_ERRORS:
            return {}

    def release(self) -> None:
        """Give back every claim of this annotator (the project is being closed)."""
        if self.used:
            try:
                self.project.claims.release(self.annotator)
            except _STORE_ERRORS:
                pass   # it times out by itself
