"""The annotator's precision setting (Model > Precision): auto, fp32 or bf16, kept per user in `precision.json` in
the config folder. A `--precision` on the command line wins for that run and is not kept."""
from __future__ import annotations

import json
from pathlib import Path

from app.atomic_file import atomic_output
from app.device import PRECISIONS


class PrecisionSetting:
    """The kept choice (`value`, None when never chosen: $MOPEFT_PRECISION, else auto). `problem` names the file
    and what was wrong with it, if anything."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.problem: str | None = None
        self.value: str | None = None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problem = f"{self.path}: cannot be read ({exc}); the precision is chosen automatically"
            return
        value = data.get("precision") if isinstance(data, dict) else None
        if value not in (None, *PRECISIONS):
            self.problem = f"{self.path}: precision {value!r} is not one of {', '.join(PRECISIONS)}; chosen automatically"
            return
        self.value = value

    def save(self, value: str) -> str | None:
        """Keep `value`; what went wrong when the file cannot be written (the choice then lasts this run only)."""
        self.value = value
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(self.path, durable=False) as f:
                json.dump({"precision": value}, f)
        except OSError as exc:
            return f"Could not keep the precision setting ({self.path}): {exc}; it lasts until the app is closed"
        return None
