"""Where the annotator left each project: the path of the image last open, per project folder.

Kept per user in `last-images.json` in the config folder, not in the project: two annotators who share a
project folder each come back to their own image, and opening a project never writes to it for this.
"""
from __future__ import annotations

import json
from pathlib import Path

from app.atomic_file import atomic_output

KEEP = 200
"""Projects remembered; the ones left longest ago are forgotten first."""


class LastImages:
    """The image each project was left at. `problem` names the file and what was wrong with it, if anything."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.problem: str | None = None
        self._write_failed = False
        self._by_folder: dict[str, str] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problem = f"{self.path}: cannot be read ({exc}); projects open at their first image not done"
            return
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            self.problem = (f"{self.path}: not a table of project folders and image paths; projects open at their "
                            "first image not done")
            return
        self._by_folder = data

    def get(self, folder: Path) -> str | None:
        """The path (relative to the project folder) of the image the project was left at, or None."""
        return self._by_folder.get(str(Path(folder).resolve()))

    def remember(self, folder: Path, image_path: str) -> str | None:
        """Record that the project of `folder` is at `image_path`. Returns what went wrong the first time the file
        cannot be written (a later failure returns None: the annotator has been told)."""
        key = str(Path(folder).resolve())
        if self._by_folder.get(key) == image_path:
            return None
        self._by_folder.pop(key, None)
        self._by_folder[key] = image_path
        for old in list(self._by_folder)[:-KEEP]:
            del self._by_folder[old]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(self.path, durable=False) as f:
                json.dump(self._by_folder, f, indent=1)
        except OSError as exc:
            if self._write_failed:
                return None
            self._write_failed = True
            return f"Could not record where this project was left ({self.path}): {exc}"
        return None
