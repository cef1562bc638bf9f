"""The root of the SAM engine's errors: images that cannot be loaded, checkpoints, downloads."""
from __future__ import annotations

from app.errors import AppError


class SamError(AppError):
    """Base of every error app.sam raises on purpose (ImageLoadError, CheckpointError, DownloadError)."""
