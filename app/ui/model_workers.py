"""Thin QObject workers, each living in its own QThread: image loading, the model (embed, predict), prefetch.

Tasks carry a ticket; a task whose ticket is no longer the latest the GUI handed out is dropped, so paging
quickly through images or clicking quickly does not queue up stale work.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal, Slot

from app.annotate.draft import PromptRequest
from app.annotate.model_choice import ModelLoad
from app.sam.engine import SamEngine
from app.image_file import is_large
from app.sam.images import ImageLoadError
from app.services.model_session import CheckedImage, EngineSwitch, ModelSession, read_checked
from app.store.hashing import FileCheck
from app.store.records import Image
from app.tiles import TileGrid, needs_tiles
from app.tiles.predictor import TiledPredictor
from app.ui.qt_images import to_qimage
from app.ui.tiled_image import LargePixels


class Tickets:
    """A counter the GUI thread bumps for each new task of a kind; workers compare against it."""

    def __init__(self) -> None:
        self.latest = 0

    def next(self) -> int:
        """A new ticket, making every earlier one stale."""
        self.latest += 1
        return self.latest

    def is_latest(self, ticket: int) -> bool:
        """True when no task was handed out after the one holding `ticket`."""
        return ticket == self.latest


class _Worker(QObject):
    """Sets the torch thread count of its thread before its first task."""

    def __init__(self, threads: int) -> None:
        super().__init__()
        self._threads = threads
        self._started = False

    def _start(self) -> None:
        if not self._started:
            torch.set_num_threads(self._threads)
            self._started = True


class ImageLoader(QObject):
    """Reads image files and checks them against the project's record (`read_checked`), and makes what the canvas
    shows (a QImage; for a large image its `LargePixels`, with an overview), all off the GUI thread."""

    loaded = Signal(int, int, object, object)   # ticket, image id, CheckedImage, QImage or LargePixels
    failed = Signal(int, int, str)      # ticket, image id, message naming the file
    changed = Signal(int, str)          # image id, message: same size, other content than recorded

    def __init__(self, tickets: Tickets) -> None:
        super().__init__()
        self._tickets = tickets

    @Slot(int, int, str, object)
    def load(self, ticket: int, image_id: int, path: str, recorded: Image | None) -> None:
        if not self._tickets.is_latest(ticket):
            return
        try:
            image = read_checked(path, recorded)
        except (ImageLoadError, OSError, ValueError) as exc:
            self.failed.emit(ticket, image_id, str(exc) if path in str(exc) else f"{path}: {exc}")
            return
        if image.check is FileCheck.RESIZED:
            self.failed.emit(ticket, image_id, image.problem)
            return
        if image.check is FileCheck.CHANGED:
            self.changed.emit(image_id, image.problem)
        height, width = image.size
        shown = LargePixels.of(image.source) if is_large(width, height) else to_qimage(image.data.rgb)
        self.loaded.emit(ticket, image_id, image, shown)


class ModelWorker(_Worker):
    """Runs the model session (`ModelSession`: base model, adapter in use, engine) in its own thread: loads the
    model, applies the adapter, embeds the current image, answers prompts. An image large enough for tiles at the
    model's input (`tiles.needs_tiles`), or read region by region, is answered tile by tile (`TiledPredictor`):
    "embedding" it embeds the tile at its centre, a click elsewhere embeds the tile that answers it."""

    model_ready = Signal(object, object, object)  # ModelLoad, SamEngine, adapter path in use or None
    model_failed = Signal(str)
    adapter_ready = Signal(object, object)        # adapter path or None (the base model), SamEngine
    adapter_failed = Signal(str)
    embedding_started = Signal(int)               # image id
    embedding_ready = Signal(int, bool, float, object)   # image id, from cache, seconds, TiledPredictor or None
    predicted = Signal(object, object)            # PromptRequest, Prediction
    failed = Signal(str)

    def __init__(self, cache_dir: Path, threads: int, images: Tickets, prompts: Tickets,
                 precision: str | None = None) -> None:
        super().__init__(threads)
        self._session = ModelSession(cache_dir, precision=precision)
        self._images, self._prompts = images, prompts
        self._image_id: int | None = None
        self._image: CheckedImage | None = None
        self._tiled: TiledPredictor | None = None   # the current image's, when it is answered tile by tile

    @Slot(object)
    def load_model(self, loader: Callable[[], ModelLoad]) -> None:
        self._start()
        try:
            switch = self._session.load(loader)
        except Exception as exc:  # any failure must reach the annotator, and the old model stays
            self.model_failed.emit(f"Could not load the model: {exc}")
            return
        self._installed(switch)
        self.model_ready.emit(self._session.model, switch.engine, switch.adapter)

    @Slot(object)
    def use_adapter(self, path: str | None) -> None:
        """Run the model with this adapter file from now on (None: the plain base model)."""
        self._switch(lambda: self._session.use_adapter(path), "Could not start the model")

    @Slot(object)
    def use_precision(self, precision: str | None) -> None:
        """Run the encoder at this precision from now on ("auto", "fp32", "bf16")."""
        self._switch(lambda: self._session.use_precision(precision), f"Could not switch to {precision}")

    def _switch(self, change: Callable[[], EngineSwitch | None], failure: str) -> None:
        """Apply a session change that builds a new engine; a failure is reported and the previous engine stays."""
        self._start()
        try:
            switch = change()
        except Exception as exc:  # noqa: BLE001 - reported, and the previous engine stays
            self.model_failed.emit(f"{failure}: {exc}")
            return
        if switch is not None:
            self._installed(switch)
            self.adapter_ready.emit(switch.adapter, switch.engine)

    def _installed(self, switch: EngineSwitch) -> None:
        """A new engine is in: nothing is embedded with it yet; an adapter it could not use is reported."""
        self._image_id, self._image, self._tiled = None, None, None
        if switch.adapter_problem:
            self.adapter_failed.emit(switch.adapter_problem)

    @property
    def _engine(self) -> SamEngine | None:
        return self._session.engine

    @Slot(int, int, object)
    def embed(self, ticket: int, image_id: int, image: CheckedImage) -> None:
        if self._engine is None or not self._images.is_latest(ticket) or image is self._image:
            return  # a stale request, or the same pixels already embedded by this engine
        self._start()
        self.embedding_started.emit(image_id)
        started = time.perf_counter()
        try:
            cached, tiled = self._embed(image)
        except (RuntimeError, ValueError, OSError) as exc:
            self.failed.emit(f"Could not embed {image.path}: {exc}")
            return
        self._image_id, self._image, self._tiled = image_id, image, tiled
        self.embedding_ready.emit(image_id, cached, time.perf_counter() - started, tiled)

    def _embed(self, image: CheckedImage) -> tuple[bool, TiledPredictor | None]:
        """Embed the image whole, or its centre tile; (whether the cache had it, the tiles' predictor or None)."""
        height, width = image.size
        side = self._engine.side
        if image.data is not None and not needs_tiles(height, width, side):
            return self._engine.set_image(image.data), None
        tiled = TiledPredictor(self._engine, image.source, TileGrid.for_model(height, width, side))
        report = tiled.prefetch_around(width / 2, height / 2, tiles=1)
        if report.failed:
            raise ValueError(report.failed[0])
        return report.cached == 1, tiled

    @Slot(object, int)
    def predict(self, request: PromptRequest, ticket: int) -> None:
        if self._engine is None or request.image_id != self._image_id or not self._prompts.is_latest(ticket):
            return
        points, labels, box = request.prompts.arrays()
        try:
            if self._tiled is None:
                prediction = self._engine.predict(points, labels, box, request.mask_input, request.multimask)
            else:
                prediction = self._on_tiles(request, points, labels, box)
        except (RuntimeError, ValueError) as exc:
            self.failed.emit(f"SAM could not predict a mask: {exc}")
            return
        self.predicted.emit(request, prediction)

    def _on_tiles(self, request: PromptRequest, points, labels, box):
        """The prompts answered on the tile of the logits they refine when it still holds them, else on the tile
        (or overview) `TiledPredictor` picks."""
        tiled = self._tiled
        tile = None
        if request.mask_input is not None and request.frame is not None:
            tile = tiled.tile_of(request.frame, points, labels, box)
        return tiled.predict(points, labels, box, request.mask_input if tile else None, request.multimask,
                             tile=tile)


class Prefetcher(_Worker):
    """Embeds into the cache, one torch thread: the images the annotator will probably open next, and the tiles of a
    large image around where they look (`tiles.ahead`). Neither changes the engine's current image, so the model
    worker answers clicks meanwhile (a tile not yet embedded waits for the encoder run in progress here)."""

    progress = Signal(int, int)     # done, total
    finished = Signal(object)       # PrefetchReport
    tiles_progress = Signal(int, int, int)   # ticket, done, total
    tiles_finished = Signal(int, object)     # ticket, PrefetchReport

    def __init__(self, tickets: Tickets) -> None:
        super().__init__(threads=1)
        self._tickets = tickets
        self._engine: SamEngine | None = None

    @Slot(object)
    def set_engine(self, engine: SamEngine) -> None:
        self._engine = engine

    @Slot(int, list)
    def prefetch(self, ticket: int, paths: list) -> None:
        if self._engine is None or not self._tickets.is_latest(ticket):
            return
        self._start()
        report = self._engine.prefetch(paths, progress=lambda done, total, _name: self.progress.emit(done, total),
                                       cancel=lambda: not self._tickets.is_latest(ticket))
        if not report.cancelled:
            self.finished.emit(report)

    @Slot(int, object, list)
    def prefetch_tiles(self, ticket: int, tiled: TiledPredictor, tiles: list) -> None:
        """Embed these tiles of a large image (those ahead of the annotator, nearest first) into the cache."""
        if not self._tickets.is_latest(ticket):
            return
        self._start()
        self.tiles_progress.emit(ticket, 0, len(tiles))
        report = tiled.prefetch_tiles(tiles, cancel=lambda: not self._tickets.is_latest(ticket),
                                      progress=lambda done, total, _name: self.tiles_progress.emit(ticket, done, total))
        if not report.cancelled:
            self.tiles_finished.emit(ticket, report)
