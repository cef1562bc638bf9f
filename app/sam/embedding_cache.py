"""Image embeddings cached in memory (LRU, bounded by count and bytes) in front of a folder on disk.

Files are safetensors, one per key (`<key>.safetensors`), written through `app.atomic_file` (a temporary
file moved into place), so a reader never sees half a file. The folder is bounded too: after a write, the files
used least recently (by modification time; a read touches its file) are deleted until the folder is within
`max_disk_bytes`, so the tiles of a huge image or years of projects cannot fill the disk. A file that cannot be read, whose
stored key is not the one asked for, or that holds NaN or infinite values counts as a miss and is
deleted; the caller recomputes and the next `put` writes a good one. All methods may be called from
several threads.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save

from app.app_env import cache_dir
from app.atomic_file import atomic_output

log = logging.getLogger(__name__)

_TENSOR = "embedding"
_SUFFIX = ".safetensors"
DEFAULT_MAX_DISK_BYTES = 8 * 2**30
"""The embeddings folder's default bound: 8 GiB, about 2,000 ViT entries (4 MiB each: a 1024 px tile or image)."""


def default_cache_dir() -> Path:
    """The per-user folder for embeddings: the app's cache folder (app.app_env) `/embeddings`."""
    return cache_dir() / "embeddings"


class EmbeddingCache:
    """Key -> embedding tensor (CPU, float32), in memory and optionally on disk.

    `directory` defaults to `default_cache_dir()`; `disk=False` keeps entries in memory only.
    The in-memory LRU holds at most `max_items` entries and `max_bytes` bytes of tensors; the folder at most
    `max_disk_bytes` of files (the newest file always stays).
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, disk: bool = True,
                 max_items: int = 16, max_bytes: int = 512 * 2**20,
                 max_disk_bytes: int = DEFAULT_MAX_DISK_BYTES) -> None:
        if max_items < 1 or max_bytes < 1 or max_disk_bytes < 1:
            raise ValueError(f"cache bounds must be positive, got max_items={max_items}, max_bytes={max_bytes}, "
                             f"max_disk_bytes={max_disk_bytes}")
        self.directory = (Path(directory) if directory is not None else default_cache_dir()) if disk else None
        self.max_items, self.max_bytes, self.max_disk_bytes = max_items, max_bytes, max_disk_bytes
        self._memory: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def path_for(self, key: str) -> Path | None:
        """The file an entry is stored in, or None for a memory-only cache."""
        return None if self.directory is None else self.directory / f"{key}{_SUFFIX}"

    def __contains__(self, key: str) -> bool:
        """True when the key is in memory or has a file on disk (its content is checked only by `get`)."""
        with self._lock:
            if key in self._memory:
                return True
        path = self.path_for(key)
        return path is not None and path.is_file()

    def memory_keys(self) -> list[str]:
        """Keys held in memory, least recently used first."""
        with self._lock:
            return list(self._memory)

    def get(self, key: str) -> torch.Tensor | None:
        """The embedding stored under `key`, or None. A disk hit is also kept in memory."""
        with self._lock:
            tensor = self._memory.get(key)
            if tensor is not None:
                self._memory.move_to_end(key)
                return tensor
        tensor = self._read(key)
        if tensor is not None:
            self._remember(key, tensor)
        return tensor

    def put(self, key: str, embedding: torch.Tensor) -> None:
        """Store an embedding under `key` in memory and, for a disk cache, in its file.

        A file that cannot be written (disk full, read-only folder) is logged and skipped: the
        entry still serves from memory.
        """
        tensor = embedding.detach().to("cpu", torch.float32).contiguous()
        self._remember(key, tensor)
        path = self.path_for(key)
        if path is not None:
            try:
                _write_atomically(path, key, tensor)
            except OSError as exc:
                log.warning("could not write cached embedding %s: %s", path, exc)
            else:
                _trim_folder(self.directory, self.max_disk_bytes, keep=path)

    def _remember(self, key: str, tensor: torch.Tensor) -> None:
        size = tensor.numel() * tensor.element_size()
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._bytes -= old.numel() * old.element_size()
            self._memory[key] = tensor
            self._bytes += size
            # The newest entry always stays, even alone over max_bytes: it is the one in use.
            while len(self._memory) > 1 and (len(self._memory) > self.max_items or self._bytes > self.max_bytes):
                _, evicted = self._memory.popitem(last=False)
                self._bytes -= evicted.numel() * evicted.element_size()

    def _read(self, key: str) -> torch.Tensor | None:
        path = self.path_for(key)
        if path is None or not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as f:
                if (f.metadata() or {}).get("key") != key:
                    raise ValueError("it holds another key")
                tensor = f.get_tensor(_TENSOR)
            if tensor.dtype != torch.float32 or tensor.dim() != 4:
                raise ValueError(f"it holds a {tensor.dtype} tensor of shape {tuple(tensor.shape)}")
            if not bool(torch.isfinite(tensor).all()):
                raise ValueError("it holds NaN or infinite values")
        except Exception as exc:  # noqa: BLE001 - whatever makes a cache file unreadable, it is only a miss
            log.warning("discarding unreadable cached embedding %s: %s", path, exc)
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)   # used now: the folder's bound deletes the least recently used files first
        except OSError:
            pass   # a read-only folder: the file is only trimmed sooner
        return tensor


def _write_atomically(path: Path, key: str, tensor: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, "wb", durable=False) as f:   # a cache: a file lost to a power cut is only a miss
        f.write(save({_TENSOR: tensor}, metadata={"key": key}))


def _trim_folder(directory: Path, max_bytes: int, keep: Path) -> None:
    """Delete the least recently used entry files of `directory` (oldest modification time first, never `keep`)
    until their sizes add up to at most `max_bytes`. Files another process deletes meanwhile are skipped."""
    entries = []
    with os.scandir(directory) as found:
        for entry in found:
            if entry.name.endswith(_SUFFIX) and entry.path != str(keep):
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                entries.append((stat.st_mtime_ns, stat.st_size, entry.path))
    try:
        total = keep.stat().st_size + sum(size for _, size, _ in entries)
    except OSError:
        return
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        try:
            os.unlink(path)
        except OSError as exc:
            log.warning("could not delete cached embedding %s to keep the folder within %d bytes: %s", path,
                        max_bytes, exc)
            continue
        total -= size
