"""Where the shipped files are: `resources/` beside the `app` package (in the source tree and in the
PyInstaller bundle alike): the demo model, the demo project's samples and the icon."""
from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEMO_MODEL = RESOURCES / "models" / "demo_sam.pth"
SAMPLES_DIR = RESOURCES / "samples"
ICON = RESOURCES / "icons" / "mopeft-annotator.png"
