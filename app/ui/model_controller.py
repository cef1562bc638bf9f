"""The model side of the window: worker threads for image loading, SAM and prefetch, and their status.

Prefetch: once the current image is embedded, a large one's tiles around where the annotator looks (`look_at`)
are embedded ahead, nearest first, then the next images; a new view, image, model or adapter cancels what is left.

The GUI thread never runs the model or decodes an image: it posts tasks to the workers through queued
signals and takes their answers the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.annotate.draft import PromptRequest
from app.app_env import sam_threads
from app.annotate.model_choice import ModelLoad
from app.sam.engine import SamEngine
from app.services.model_session import CheckedImage
from app.store.records import Image
from app.image_file import is_large
from app.tiles import needs_tiles
from app.tiles.ahead import ahead_count, tiles_ahead
from app.tiles.predictor import TiledPredictor
from app.ui.model_workers import ImageLoader, ModelWorker, Prefetcher, Tickets

PREFETCH_AHEAD = 2
"""How many of the next images are embedded in the background."""


def embedded_whole(height: int, width: int, model_input: int) -> bool:
    """True when an image of this size is embedded whole (not read region by region, nor answered on tiles at the
    model's input): only such images are worth embedding ahead as next images."""
    return not is_large(width, height) and not needs_tiles(height, width, model_input)


class ModelController(QObject):
    """Starts the workers, routes tasks to them and reports what they do.

    Signals: model_ready(ModelLoad), adapter_changed(adapter path or None), adapter_failed(message), embedded(image
    id), image_loaded(id, QImage or LargePixels), image_failed(id, message), image_changed(id, message),
    predicted(request, prediction), error(message), embedding_state(text, busy), prefetch_state(text).
    """

    model_ready = Signal(object)
    adapter_changed = Signal(object)
    adapter_failed = Signal(str)
    embedded = Signal(int)
    image_loaded = Signal(int, object)
    image_failed = Signal(int, str)
    image_changed = Signal(int, str)
    predicted = Signal(object, object)
    error = Signal(str)
    embedding_state = Signal(str, bool)
    prefetch_state = Signal(str)

    _load_model = Signal(object)
    _use_adapter = Signal(object)
    _use_precision = Signal(object)
    _load_image = Signal(int, int, str, object)
    _embed = Signal(int, int, object)
    _predict = Signal(object, int)
    _prefetch = Signal(int, list)
    _prefetch_tiles = Signal(int, object, list)
    _set_engine = Signal(object)

    def __init__(self, cache_dir: Path, parent: QObject | None = None, precision: str | None = None) -> None:
        super().__init__(parent)
        self.model: ModelLoad | None = None
        self.engine: SamEngine | None = None
        self.precision = precision
        """The precision asked for ("auto", "fp32", "bf16"; None: $MOPEFT_PRECISION, else auto): fine-tuning from
        the window runs at it too."""
        self.adapter: str | None = None
        self._wanted_adapter: str | None = None
        self.embedding_stale = False
        """True while the current image's embedding is not yet the one of the engine in use (after a switch)."""
        self._images, self._prompts, self._prefetches = Tickets(), Tickets(), Tickets()
        self._current: tuple[int, CheckedImage] | None = None
        self._ahead: list[str] = []
        self.tiles_ahead_count = ahead_count()
        """How many tiles of a large image are embedded around the view (0: none; `app.tiles.ahead`)."""
        self._tiled: TiledPredictor | None = None   # the current image's tiles, once its first one is embedded
        self._view: tuple | None = None             # the part of the current image in view (x0, y0, x1, y1)
        self._asked: frozenset = frozenset()        # the tiles ahead last handed to the prefetcher
        self._threads: list[QThread] = []
        self._loader = self._start(ImageLoader(self._images), "image loader")
        self._worker = self._start(ModelWorker(cache_dir, sam_threads(), self._images, self._prompts, precision),
                                   "SAM")
        self._prefetcher = self._start(Prefetcher(self._prefetches), "prefetch")
        self._load_model.connect(self._worker.load_model)
        self._use_adapter.connect(self._worker.use_adapter)
        self._use_precision.connect(self._worker.use_precision)
        self._load_image.connect(self._loader.load)
        self._embed.connect(self._worker.embed)
        self._predict.connect(self._worker.predict)
        self._prefetch.connect(self._prefetcher.prefetch)
        self._prefetch_tiles.connect(self._prefetcher.prefetch_tiles)
        self._set_engine.connect(self._prefetcher.set_engine)
        self._loader.loaded.connect(self._on_image_loaded)
        self._loader.failed.connect(self._on_image_failed)
        self._loader.changed.connect(self.image_changed)
        self._worker.model_ready.connect(self._on_model_ready)
        self._worker.model_failed.connect(self.error)
        self._worker.adapter_ready.connect(self._on_adapter_ready)
        self._worker.adapter_failed.connect(self._on_adapter_failed)
        self._worker.failed.connect(self.error)
        # worker signals go to methods of this object, never to lambdas: a lambda would run in the worker's thread
        self._worker.embedding_started.connect(self._on_embedding_started)
        self._worker.embedding_ready.connect(self._on_embedded)
        self._worker.predicted.connect(self.predicted)
        self._prefetcher.progress.connect(self._on_prefetch_progress)
        self._prefetcher.finished.connect(self._on_prefetched)
        self._prefetcher.tiles_progress.connect(self._on_tiles_progress)
        self._prefetcher.tiles_finished.connect(self._on_tiles_prefetched)

    def load_model(self, loader: Callable[[], ModelLoad]) -> None:
        """Load a model in the worker (`loader` runs there); the current image is embedded again once it is in."""
        self._prefetches.next()
        self.embedding_state.emit("Loading the model…", True)
        self._load_model.emit(loader)

    @property
    def wanted_adapter(self) -> str | None:
        """The adapter file SAM runs with, or will once it is applied (None: the base model)."""
        return self._wanted_adapter

    def use_adapter(self, path: Path | str | None) -> None:
        """Run SAM with this adapter file from now on (None: the base model); the current image is embedded again
        first, then the next ones. A model loaded later gets the same adapter when it fits."""
        path = None if path is None else str(path)
        if path == self._wanted_adapter:
            return
        self._wanted_adapter = path
        self._prefetches.next()
        self.embedding_state.emit("Applying the adapter…" if path else "Back to the base model…", True)
        self._use_adapter.emit(path)

    def use_precision(self, precision: str | None) -> None:
        """Run the encoder at this precision ("auto", "fp32", "bf16") from now on; the current image is embedded
        again first."""
        self.precision = precision
        self._prefetches.next()
        self.embedding_state.emit(f"Switching to {precision}…", True)
        self._use_precision.emit(precision)

    def show_image(self, image_id: int, path: Path, ahead: list[tuple[Path, int, int]],
                   recorded: Image | None = None) -> None:
        """Load and embed an image, then prefetch the first of `ahead` (path, height, width of the images likely to
        come next) that are embedded whole at the model's input (`embedded_whole`).

        With `recorded`, a file of another size fails to load and one of other content is reported."""
        self._current, self._ahead = None, list(ahead)
        self._prefetches.next()
        if self._tiled is not None:   # its tiles ahead are cancelled: the field would tell of another image
            self.prefetch_state.emit("")
        self._tiled = self._view = None
        self._asked = frozenset()
        self.embedding_state.emit("Loading the image…", True)
        self._load_image.emit(self._images.next(), image_id, str(path), recorded)

    def look_at(self, view: tuple) -> None:
        """The annotator looks at this part of the current image (x0, y0, x1, y1 image pixels): a large image's tiles
        ahead are embedded around it from now on, what was left around the last view is dropped."""
        self._view = view
        if self._tiled is not None:
            self._prefetch_around_view()

    def predict(self, request: PromptRequest) -> None:
        """Ask SAM for a prompt request; an older request still waiting is dropped."""
        self._predict.emit(request, self._prompts.next())

    def shutdown(self) -> None:
        """Drop pending tasks and stop the threads (waits for a running model call to end)."""
        for tickets in (self._images, self._prompts, self._prefetches):
            tickets.next()
        for thread in self._threads:
            thread.quit()
        for thread in self._threads:
            thread.wait()

    def _start(self, worker: QObject, name: str):
        thread = QThread(self)
        thread.setObjectName(name)
        worker.moveToThread(thread)
        thread.finished.connect(worker.deleteLater)
        thread.start()
        self._threads.append(thread)
        return worker

    @Slot(object, object, object)
    def _on_model_ready(self, model: ModelLoad, engine: SamEngine, adapter: str | None) -> None:
        self.model = model
        self._engine_ready(engine, adapter)
        self.model_ready.emit(model)

    @Slot(object, object)
    def _on_adapter_ready(self, adapter: str | None, engine: SamEngine) -> None:
        self._engine_ready(engine, adapter)
        self.adapter_changed.emit(adapter)

    @Slot(str)
    def _on_adapter_failed(self, message: str) -> None:
        self.adapter = self._wanted_adapter = None
        self.adapter_failed.emit(message)

    def _engine_ready(self, engine: SamEngine, adapter: str | None) -> None:
        """A new engine (model or adapter changed): the prefetcher uses it, the current image is embedded again."""
        self.engine, self.adapter = engine, adapter
        self._tiled, self._asked = None, frozenset()   # the old engine's tiles: the new one's come when it embeds
        self._set_engine.emit(engine)
        self.embedding_stale = self._current is not None
        if self._current is not None:
            self._embed.emit(self._images.latest, *self._current)
        else:
            self.embedding_state.emit("", False)

    @Slot(int, int, object, object)
    def _on_image_loaded(self, ticket: int, image_id: int, image: CheckedImage, shown) -> None:
        if self._images.is_latest(ticket):
            self._current = (image_id, image)
            self.image_loaded.emit(image_id, shown)
            self._embed.emit(ticket, image_id, image)

    @Slot(int, int, str)
    def _on_image_failed(self, ticket: int, image_id: int, message: str) -> None:
        if self._images.is_latest(ticket):
            self.embedding_state.emit("", False)
            self.image_failed.emit(image_id, message)

    @Slot(int)
    def _on_embedding_started(self, _image_id: int) -> None:
        self.embedding_state.emit("Embedding the image…", True)

    @Slot(int, int)
    def _on_prefetch_progress(self, done: int, total: int) -> None:
        self.prefetch_state.emit(f"Prefetch {done}/{total}")

    @Slot(int, bool, float, object)
    def _on_embedded(self, image_id: int, cached: bool, seconds: float, tiled: TiledPredictor | None) -> None:
        how = "from the cache" if cached else f"computed in {seconds:.1f} s" if seconds >= 1 else \
            f"computed in {seconds * 1000:.0f} ms"
        self.embedding_stale = False
        self.embedding_state.emit(f"Embedding ready ({how})", False)
        self.embedded.emit(image_id)
        current = self._current is not None and self._current[0] == image_id
        self._tiled, self._asked = (tiled if current else None), frozenset()
        if self._tiled is not None and self.tiles_ahead_count > 0:
            self._prefetch_around_view()
        else:
            self._prefetch_next_images()

    def _prefetch_around_view(self) -> None:
        """Embed the current image's tiles around the view (the whole image until the canvas says), then the next
        images; nothing new when the view moved but the tiles around it are those already asked for."""
        height, width = self._tiled.source.size
        tiles = tiles_ahead(self._tiled.grid, self._view or (0, 0, width, height),
                            self.tiles_ahead_count)
        if frozenset(tiles) != self._asked:
            self._asked = frozenset(tiles)
            self._prefetch_tiles.emit(self._prefetches.next(), self._tiled, tiles)

    def _prefetch_next_images(self) -> None:
        if self.engine is None:
            return
        whole = [str(p) for p, height, width in self._ahead if embedded_whole(height, width, self.engine.side)]
        if whole:
            self._prefetch.emit(self._prefetches.next(), whole[:PREFETCH_AHEAD])

    @Slot(int, int, int)
    def _on_tiles_progress(self, ticket: int, done: int, total: int) -> None:
        if self._prefetches.is_latest(ticket):
            self.prefetch_state.emit(f"Tiles {done}/{total} ahead")

    @Slot(int, object)
    def _on_tiles_prefetched(self, ticket: int, report) -> None:
        if not self._prefetches.is_latest(ticket):
            return   # the view, image or model changed as its last tile was embedded: a newer prefetch runs
        self.prefetch_state.emit(f"{report.total} tiles around the view ready: {report.embedded} embedded, "
                                 f"{report.cached} cached" + (f", {len(report.failed)} unreadable" if report.failed
                                                              else ""))
        self._prefetch_next_images()

    @Slot(object)
    def _on_prefetched(self, report) -> None:
        text = f"Next {report.total} image(s) ready: {report.embedded} embedded, {report.cached} cached"
        self.prefetch_state.emit(text + (f", {len(report.failed)} unreadable" if report.failed else ""))
