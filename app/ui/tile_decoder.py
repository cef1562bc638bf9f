"""A thin worker that decodes a large image's tiles off the GUI thread, as `TileRequests` asks for them.

It runs on a plain daemon thread, not a QThread: a canvas item can be destroyed with its scene without being
stopped, and a QThread destroyed while it runs aborts the process; this thread then waits in `take` for good.
The canvas stops it (`stop`) whenever it drops the image, so the decoder is never freed on its own thread.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.tiles.tile_requests import TileRequests
from app.ui.qt_images import to_qimage


class TileDecoder(QObject):
    """Decodes the tiles `requests` hands out from `source` (`region(x0, y0, x1, y1, level)`, safe to call from
    this thread) and emits each: `decoded(key, QImage)`, or `failed(key, message)` when the source raises."""

    decoded = Signal(object, QImage)
    failed = Signal(object, str)

    def __init__(self, source, requests: TileRequests) -> None:
        super().__init__()
        self._requests = requests
        self._thread = threading.Thread(target=self._run, args=(source,), name="tile-decoder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Drop every waiting request and wait for the tile being decoded, if any (one tile at most)."""
        self._requests.close()
        self._thread.join()

    def _run(self, source) -> None:
        while (request := self._requests.take()) is not None:
            try:
                image = to_qimage(source.region(*request.box, request.level))
            except Exception as exc:  # noqa: BLE001 - a broken tile must not end the decoder; the canvas is told
                self.failed.emit(request.key, f"{type(exc).__name__}: {exc}")
            else:
                self.decoded.emit(request.key, image)
