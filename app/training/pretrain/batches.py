"""Turning synthetic scenes into training batches: an image tensor and per-image object masks."""
from __future__ import annotations

import numpy as np
import torch

from app.synth.scenes import Scene


def scene_batch(scenes: list[Scene], max_objects: int, generator: torch.Generator | None = None,
                device: str | torch.device = "cpu") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Images (B, 3, H, W) float 0..255 and, per image, up to `max_objects` of its masks (P, H, W) bool.

    When a scene holds more objects than `max_objects`, a random subset is taken.
    """
    images = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2).float()
    targets = []
    for scene in scenes:
        masks = torch.from_numpy(np.stack(scene.masks))
        if len(masks) > max_objects:
            masks = masks[torch.randperm(len(masks), generator=generator)[:max_objects]]
        targets.append(masks.to(device))
    return images.to(device), targets
