"""The demo project: a copy of `resources/samples/` in the user data folder, or generated images until it has some."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from app.image_file import is_image_file
from app.resources import SAMPLES_DIR
from app.store import Project

DEMO_FOLDER = "demo-project"


def prepare_demo_project(data_dir: Path, samples: Path = SAMPLES_DIR) -> Path:
    """The demo project folder in `data_dir`, with every sample image copied in (files already there are kept).

    When there are no samples and the folder holds no image, a few generated images are written instead,
    so the demo is never empty. A new demo project gets the samples' COCO categories as labels (their
    annotations are ground truth for evaluation, not instances to start from).
    """
    folder = Path(data_dir) / DEMO_FOLDER
    new = not (folder / ".mopeft").exists()
    folder.mkdir(parents=True, exist_ok=True)
    if samples.is_dir():
        for source in sorted(samples.rglob("*")):
            target = folder / source.relative_to(samples)
            if source.is_file() and is_image_file(source.name) and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    if not any(is_image_file(p.name) for p in folder.rglob("*") if ".mopeft" not in p.parts):
        for index in range(5):
            Image.fromarray(generated_image(index)).save(folder / f"generated_{index + 1:02d}.png")
    if new:
        with Project.open(folder, create=True) as project:
            for name in sample_categories(samples):
                project.labels.add(name)
    return folder


def sample_categories(samples: Path) -> list[str]:
    """Category names of the samples' `annotations.json` (COCO), in id order; none when it is absent or unreadable."""
    try:
        categories = json.loads((samples / "annotations.json").read_text(encoding="utf-8"))["categories"]
        return [c["name"] for c in sorted(categories, key=lambda c: c["id"])]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def generated_image(index: int, size: tuple[int, int] = (480, 360)) -> np.ndarray:
    """A simple H x W x 3 uint8 scene: a textured background with a few filled shapes (seeded by `index`)."""
    rng = np.random.default_rng(index)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    base = rng.uniform(40, 90, 3)
    gradient = (xx / width)[..., None] * rng.uniform(-20, 30, 3) + (yy / height)[..., None] * rng.uniform(-20, 30, 3)
    noise = rng.normal(0, 6, (height, width, 1))
    image = np.clip(base + gradient + noise, 0, 255).astype(np.uint8)
    scale = min(width, height) / 360
    margin = max(1, int(60 * scale))

    def size(low: int, high: int) -> int:
        return max(2, int(rng.integers(low, high) * scale))

    for _ in range(rng.integers(3, 6)):
        colour = tuple(int(c) for c in rng.integers(120, 255, 3))
        cx, cy = int(rng.integers(margin, width - margin)), int(rng.integers(margin, height - margin))
        kind = rng.integers(3)
        if kind == 0:
            axes = (size(20, 60), size(20, 60))
            cv2.ellipse(image, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
        elif kind == 1:
            half = size(18, 50)
            cv2.rectangle(image, (cx - half, cy - half // 2), (cx + half, cy + half), colour, -1)
        else:
            angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
            radii = rng.uniform(20, 55, 6) * scale
            pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.int32)
            cv2.fillPoly(image, [pts], colour, cv2.LINE_AA)
    return image
