"""The tiles a background decoder is asked for, Qt-free: only those of the view shown last, in the order asked, at
most `limit` of them, so fast panning never queues up work for views already left behind.

A request goes asked -> taken (by the decoder) -> received (by the canvas); a tile taken and not yet received is
not asked for again.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

TileKey = tuple[int, int, int]
"""(level, x0, y0): a tile by its pyramid level and its top-left corner in that level's pixels."""


@dataclass(frozen=True)
class TileRequest:
    """One tile to decode: the region x0 <= x < x1, y0 <= y < y1 (`box`) of pyramid `level`."""

    level: int
    box: tuple[int, int, int, int]

    @property
    def key(self) -> TileKey:
        """The tile's (level, x0, y0)."""
        return self.level, self.box[0], self.box[1]


class TileRequests:
    """Thread-safe: the GUI thread says what the view needs (`want`), the decoder thread takes it (`take`)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._waiting: OrderedDict[TileKey, TileRequest] = OrderedDict()
        self._taken: set[TileKey] = set()
        self._closed = False
        self._changed = threading.Condition()

    def want(self, requests: list[TileRequest]) -> None:
        """The tiles the view now shown lacks, most wanted first. They replace every request still waiting (those
        of earlier views are dropped); tiles already taken are left out, and only the first `limit` kept."""
        with self._changed:
            fresh = [r for r in requests if r.key not in self._taken][:self._limit]
            self._waiting = OrderedDict((r.key, r) for r in fresh)
            self._changed.notify()

    def take(self) -> TileRequest | None:
        """The most wanted request, waiting until there is one; None once closed."""
        with self._changed:
            while not self._waiting and not self._closed:
                self._changed.wait()
            if self._closed:
                return None
            key, request = self._waiting.popitem(last=False)
            self._taken.add(key)
            return request

    def received(self, key: TileKey) -> None:
        """The canvas has the taken tile `key` (or its failure): it may be asked for again once evicted."""
        with self._changed:
            self._taken.discard(key)

    def close(self) -> None:
        """Drop everything waiting; `take` returns None from now on."""
        with self._changed:
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
