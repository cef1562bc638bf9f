"""Where the annotator keeps per-user files: config (shortcuts, window layout, the image each project was left
at), data (demo project), cache."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.app_env import cache_dir, config_dir, data_dir


@dataclass(frozen=True)
class AppPaths:
    """The three per-user folders; tests pass temporary ones."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @classmethod
    def default(cls) -> "AppPaths":
        """The app's per-user folders (app.app_env)."""
        return cls(config_dir(), data_dir(), cache_dir())

    @property
    def embeddings_dir(self) -> Path:
        """The on-disk embedding cache (the same folder `mopeft embed` fills by default)."""
        return self.cache_dir / "embeddings"

    @property
    def window_settings(self) -> Path:
        """The QSettings file for window geometry and dock layout (nothing else goes there)."""
        return self.config_dir / "window.ini"

    @property
    def precision_setting(self) -> Path:
        """The file that keeps the annotator's Model > Precision choice."""
        return self.config_dir / "precision.json"

    @property
    def last_images(self) -> Path:
        """The file that remembers, per project folder, the image the annotator left it at."""
        return self.config_dir / "last-images.json"
