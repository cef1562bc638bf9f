"""The one root of the errors the app raises on purpose, so that a caller can catch every one of them at once.

Each package has its own root below it (app.store StoreError, app.coco CocoError, app.sam SamError,
app.training.finetune TrainingError); their messages name the file or thing and say what to do. Some errors also keep
the builtin they had before (ImageLoadError and CheckpointError are ValueErrors, DownloadError and
TrainingError RuntimeErrors), so callers that catch those still do. A cancellation is no error: it stays
outside this tree.
"""
from __future__ import annotations


class AppError(Exception):
    """Base of every error the app raises on purpose; catch it to report any of them to the user."""
