"""Thin QObject workers, each living in its own QThread: image loading, the model (embed, predict), prefetch.

Tasks carry a ticket; a task whose ticket is no longer the latest the GUI handed out is dropped, so paging
quickly through images or clicking quickly does not queue up stale work.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal, Slot

from app.annotate.draft import PromptRequest
from app.annotate.model_choice import ModelLoad
from app.mopeft import adapted_copy
from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import SamEngine
from app.sam.images import ImageData, ImageLoadError, load_image
from app.store.hashing import FileCheck, check_file
from app.ui.qt_images import to_qimage


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


@dataclass(frozen=True)
class Recorded:
    """What the project recorded of an image file: its content hash and size. The loader checks the file
    against it, so masks are never shown on other pixels without the annotator knowing."""

    content_hash: str
    width: int
    height: int


class ImageLoader(QObject):
    """Reads image files (`load_image`), checks them against the project's record and makes their QImage, all
    off the GUI thread."""

    loaded = Signal(int, int, object, object)   # ticket, image id, ImageData, QImage of its pixels
    failed = Signal(int, int, str)      # ticket, image id, message naming the file
    changed = Signal(int, str)          # image id, message: same size, other content than recorded

    def __init__(self, tickets: Tickets) -> None:
        super().__init__()
        self._tickets = tickets

    @Slot(int, int, str, object)
    def load(self, ticket: int, image_id: int, path: str, recorded: Recorded | None) -> None:
        if not self._tickets.is_latest(ticket):
            return
        try:
            data = load_image(path)
            h, w = data.rgb.shape[:2]
            check = check_file(Path(path), (w, h), recorded) if recorded is not None else FileCheck.SAME
        except (ImageLoadError, OSError, ValueError) as exc:
            self.failed.emit(ticket, image_id, str(exc) if path in str(exc) else f"{path}: {exc}")
            return
        if check is FileCheck.RESIZED:
            self.failed.emit(ticket, image_id, f"{path} is now {w}x{h} pixels, no longer the "
                                               f"{recorded.width}x{recorded.height} it had when it was added: "
                                               "its instances no longer fit it")
            return
        if check is FileCheck.CHANGED:
            self.changed.emit(image_id, f"{path} changed on disk since it was added to the project: its "
                                        "instances were drawn on the old pixels and may no longer fit. If they "
                                        "still do: Image > Keep the instances on the changed file.")
        self.loaded.emit(ticket, image_id, data, to_qimage(data.rgb))


class ModelWorker(_Worker):
    """Owns the SamEngine: loads the model, applies the active adapter, embeds the current image, answers prompts.

    The loaded model stays plain; an adapter runs on `adapted_copy` of it, which shares its weights.
    """

    model_ready = Signal(object, object, object)  # ModelLoad, SamEngine, adapter path in use or None
    model_failed = Signal(str)
    adapter_ready = Signal(object, object)        # adapter path or None (the base model), SamEngine
    adapter_failed = Signal(str)
    embedding_started = Signal(int)               # image id
    embedding_ready = Signal(int, bool, float)    # image id, from cache, seconds
    predicted = Signal(object, object)            # PromptRequest, Prediction
    failed = Signal(str)

    def __init__(self, cache_dir: Path, threads: int, images: Tickets, prompts: Tickets) -> None:
        super().__init__(threads)
        self._cache_dir, self._images, self._prompts = cache_dir, images, prompts
        self._model: ModelLoad | None = None
        self._adapter: str | None = None
        self._engine: SamEngine | None = None
        self._image_id: int | None = None
        self._data: ImageData | None = None

    @Slot(object)
    def load_model(self, loader: Callable[[], ModelLoad]) -> None:
        self._start()
        try:
            model = loader()
        except Exception as exc:  # any failure must reach the annotator, and the old model stays
            self.model_failed.emit(f"Could not load the model: {exc}")
            return
        self._model = model
        engine = self._install()
        if engine is not None:
            self.model_ready.emit(model, engine, self._adapter)

    @Slot(object)
    def use_adapter(self, path: str | None) -> None:
        """Run the model with this adapter file from now on (None: the plain base model)."""
        self._start()
        self._adapter = path
        if self._model is not None:
            engine = self._install()
            if engine is not None:
                self.adapter_ready.emit(self._adapter, engine)

    def _install(self) -> SamEngine | None:
        """A new engine for the model with the wanted adapter; an adapter that does not fit is reported and dropped."""
        base = self._model.loaded.sam
        sam = base
        if self._adapter is not None:
            try:
                sam = adapted_copy(base, self._adapter)
            except Exception as exc:  # noqa: BLE001 - any failure (AdapterError, out of memory) reaches the annotator
                self.adapter_failed.emit(f"The adapter could not be used; SAM runs without it.\n\n{exc}")
                self._adapter = None
        try:
            engine = SamEngine(sam, cache=EmbeddingCache(self._cache_dir))
        except Exception as exc:  # noqa: BLE001 - reported, and the previous engine stays
            self.model_failed.emit(f"Could not start the model: {exc}")
            return None
        self._engine, self._image_id, self._data = engine, None, None
        return engine

    @Slot(int, int, object)
    def embed(self, ticket: int, image_id: int, data: ImageData) -> None:
        if self._engine is None or not self._images.is_latest(ticket) or data is self._data:
            return  # a stale request, or the same pixels already embedded by this engine
        self._start()
        self.embedding_started.emit(image_id)
        started = time.perf_counter()
        try:
            cached = self._engine.set_image(data)
        except (RuntimeError, ValueError, OSError) as exc:
            self.failed.emit(f"Could not embed {data.path}: {exc}")
            return
        self._image_id, self._data = image_id, data
        self.embedding_ready.emit(image_id, cached, time.perf_counter() - started)

    @Slot(object, int)
    def predict(self, request: PromptRequest, ticket: int) -> None:
        if self._engine is None or request.image_id != self._image_id or not self._prompts.is_latest(ticket):
            return
        points, labels, box = request.prompts.arrays()
        try:
            prediction = self._engine.predict(points, labels, box, request.mask_input, request.multimask)
        except (RuntimeError, ValueError) as exc:
            self.failed.emit(f"SAM could not predict a mask: {exc}")
            return
        self.predicted.emit(request, prediction)


class Prefetcher(_Worker):
    """Embeds the images the annotator will probably open next into the cache, one torch thread."""

    progress = Signal(int, int)     # done, total
    finished = Signal(object)       # PrefetchReport

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
