"""The app on this machine: its name, the per-user folders it keeps files in, and how many CPU threads it uses.

Folders are platformdirs' for APP_NAME (on Linux ~/.config, ~/.local/share and ~/.cache, or $XDG_*_HOME).
Threads: the window's SAM worker takes half the cores, so the interface stays responsive beside it; a training
run from the window takes all but one. The CLI leaves torch's own default.
"""
from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_path, user_config_path, user_data_path

APP_NAME = "mopeft-annotator"


def config_dir() -> Path:
    """Per-user settings: shortcuts, window layout, the image each project was left at."""
    return user_config_path(APP_NAME)


def data_dir() -> Path:
    """Per-user data: the demo project, adapters rescued from a project that could not take them."""
    return user_data_path(APP_NAME)


def cache_dir() -> Path:
    """Per-user cache: downloaded checkpoints and image embeddings (safe to delete)."""
    return user_cache_path(APP_NAME)


def sam_threads() -> int:
    """Torch CPU threads for the window's SAM worker: half the cores, at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


def training_threads() -> int:
    """Torch CPU threads for a training run started from the window: all cores but one, at least one."""
    return max(1, (os.cpu_count() or 2) - 1)
