"""Saving a run's adapter so that trained weights are not lost: into the project, else somewhere that works.

A full disk or a read-only project folder at the end of a run must not throw the run's work away; the
weights are then written to a per-user folder (or the temporary folder) and the user is told where.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from segment_anything.modeling import Sam

from app.app_env import data_dir
from app.mopeft import save_adapter
from app.training.finetune.events import TrainingError


class AdapterSaveError(TrainingError):
    """The adapter could not be written into the project. `rescued`: where the weights went instead (or None)."""

    def __init__(self, message: str, rescued: Path | None) -> None:
        super().__init__(message)
        self.rescued = rescued


def rescue_dirs() -> list[Path]:
    """Where weights go when the project folder cannot take them, in order of preference."""
    return [data_dir() / "rescued-adapters", Path(tempfile.gettempdir())]


def save_or_rescue(sam: Sam, path: Path, metadata: dict) -> Path:
    """Save the adapter of `sam` at `path`; when that fails, into the first of `rescue_dirs()` that works and
    raise AdapterSaveError naming both (the project is then left without the new version)."""
    try:
        return save_adapter(sam, path, metadata=metadata)
    except OSError as exc:   # a full disk or a read-only folder (adapter files are written by atomic_output)
        reason = f"could not save the adapter into {path.parent} ({exc})"
        for folder in rescue_dirs():
            try:
                rescued = save_adapter(sam, folder / path.name, metadata=metadata)
            except OSError:
                continue
            raise AdapterSaveError(f"{reason}; the trained weights were written to {rescued} instead",
                                   rescued) from exc
        raise AdapterSaveError(f"{reason}, nor into {', '.join(map(str, rescue_dirs()))}", None) from exc
