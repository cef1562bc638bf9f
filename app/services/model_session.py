"""The model the annotator works with: the base SAM, the adapter version in use, and the engine running them.

Qt-free and single-threaded: the window keeps one in its model worker thread, a CLI command or a later worker
keeps its own. The policy for an adapter file that cannot be used lives here: SAM goes on with the base model and
the reason is returned, never raised. So does the rule for an image file that is no longer the one annotated.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.annotate.model_choice import ModelLoad
from app.device import check_precision
from app.mopeft import adapted_copy
from app.models.any_family import engine_for
from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import SamEngine
from app.sam.images import ImageData, load_image
from app.store.errors import StoreError
from app.store.hashing import FileCheck, change_problem, check_file
from app.store.project import Project
from app.tiles.predictor import ArraySource
from app.tiles.tiff_source import TiffSource, open_large

if TYPE_CHECKING:
    from app.sam2.engine import Sam2Engine


@dataclass(frozen=True)
class EngineSwitch:
    """A new engine: the adapter file it runs (None: the base model) and, when the wanted adapter could not be
    used, why (SAM then runs the base model)."""

    engine: SamEngine | Sam2Engine
    adapter: str | None
    adapter_problem: str | None = None


class ModelSession:
    """Holds the loaded base model, the wanted adapter file and the engine for the two.

    `load`, `use_adapter` and `use_precision` build a new engine and return an `EngineSwitch`; the engine in use
    stays until a new one could be built, so a failure leaves SAM as it was. Engines cache embeddings under
    `cache_dir` and run the encoder at `precision` ("auto", "fp32", "bf16"; None: $MOPEFT_PRECISION, else auto).
    """

    def __init__(self, cache_dir: Path | None, disk_cache: bool = True, precision: str | None = None) -> None:
        self._cache_dir, self._disk_cache = cache_dir, disk_cache
        self.precision = precision
        self.model: ModelLoad | None = None
        self.adapter: str | None = None
        self.engine: SamEngine | Sam2Engine | None = None

    def load(self, loader: Callable[[], ModelLoad]) -> EngineSwitch:
        """Load a base model with `loader` and run it with the wanted adapter. Raises what `loader` raises
        (the model in use stays) and what starting an engine raises."""
        model = loader()
        switch = self._switch(model, self.adapter, self.precision)
        self.model = model
        return switch

    def use_adapter(self, path: str | Path | None) -> EngineSwitch | None:
        """Run the base model with this adapter file from now on (None: the plain base model). Returns the new
        engine, or None before a model is loaded (the adapter is then used once one is)."""
        self.adapter = None if path is None else str(path)
        return None if self.model is None else self._switch(self.model, self.adapter, self.precision)

    def use_precision(self, precision: str | None) -> EngineSwitch | None:
        """Run the encoder at this precision from now on (embeddings at another precision are other cache
        entries). Returns the new engine, or None before a model is loaded. ValueError when the device cannot run
        it (`app.device.choose_precision`); the engine in use then stays, and so does the precision."""
        if self.model is None:
            self.precision = check_precision(precision)
            return None
        switch = self._switch(self.model, self.adapter, precision)
        self.precision = precision
        return switch

    def _switch(self, model: ModelLoad, adapter: str | None, precision: str | None) -> EngineSwitch:
        base = sam = model.loaded.sam
        problem = None
        if adapter is not None:
            try:
                sam = adapted_copy(base, adapter)
            except Exception as exc:  # noqa: BLE001 - any failure (AdapterError, out of memory) falls back, told
                problem = f"The adapter could not be used; SAM runs without it.\n\n{exc}"
                adapter = None
        cache = EmbeddingCache(self._cache_dir) if self._disk_cache else EmbeddingCache(disk=False)
        engine = engine_for(sam, cache, precision)
        self.engine, self.adapter = engine, adapter
        return EngineSwitch(engine, adapter, problem)


def active_adapter(project: Project, model_name: str | None = None) -> Path | None:
    """The file of the project's active adapter version, None when the base model is in use; with `model_name`,
    also None when the active version was trained on another base model (it cannot continue or run on this one).
    Raises StoreError when the file does not match the checksum recorded with it (AdapterTable.file)."""
    active = project.adapters.active()
    if active is None or (model_name is not None and active.base_model != model_name):
        return None
    return project.adapters.file(active)


def usable_adapter(project: Project, model_name: str | None = None) -> tuple[Path | None, str | None]:
    """`active_adapter`, with a file that fails its checksum left out: (the file or None, why it was left out or
    None), for callers that run the base model rather than stop (the window, `mopeft auto`)."""
    try:
        return active_adapter(project, model_name), None
    except StoreError as exc:
        return None, f"The adapter could not be used; SAM runs without it.\n\n{exc}"


def use_version(project: Project, version_id: int | None) -> Path | None:
    """Make this adapter version the active one (None: the base model), recorded in the project; its file.
    Raises StoreError."""
    version = project.adapters.set_active(version_id)
    return None if version is None else project.adapters.file(version)


@dataclass(frozen=True)
class CheckedImage:
    """An image file read for annotation: its pixels, how it compares with the project's record (`FileCheck`)
    and, when it is no longer the annotated file, what to tell the annotator (`problem`).

    `data` is the whole image decoded, None for a large TIFF read region by region (`tiff`, docs/images.md)."""

    data: ImageData | None
    check: FileCheck
    problem: str | None
    tiff: TiffSource | None = None

    @property
    def source(self) -> TiffSource | ArraySource:
        """The pixels, read region by region (`app.tiles`): the TIFF's, or those decoded."""
        return self.tiff if self.tiff is not None else ArraySource(self.data.rgb)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the image grid."""
        return self.source.size

    @property
    def path(self) -> Path:
        """The file read."""
        return self.tiff.path if self.tiff is not None else self.data.path


def read_checked(path: str | Path, recorded=None) -> CheckedImage:
    """Read an image file (a large TIFF that can be: region by region, `tiles.tiff_source.open_large`; any other
    whole) and compare it with what the project recorded of it (an `Image` record, or anything with
    `content_hash`, `width`, `height`; None: no comparison). Raises ImageLoadError, OSError, ValueError."""
    tiff = open_large(path)
    data = None if tiff is not None else load_image(path)
    h, w = tiff.size if tiff is not None else data.rgb.shape[:2]
    check = FileCheck.SAME if recorded is None else check_file(Path(path), (w, h), recorded)
    return CheckedImage(data, check, change_problem(path, check, recorded, (w, h)), tiff)

