"""One-click validation of a SAM model on synthetic scenes: the IoU of each object after a single click.

The click is `app.metrics`' first click (the interior point farthest from the boundary); SAM answers
with three masks and the one with the highest predicted IoU is scored, as `mopeft eval` does. This
batched version exists for speed inside training; `mopeft eval` gives the reference numbers.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam

from app.metrics.clicks import interior_point
from app.synth.scenes import Scene
from app.training.losses import mask_iou


@torch.no_grad()
def one_click_ious(sam: Sam, scenes: Iterable[Scene], batch_size: int = 8) -> np.ndarray:
    """The IoU of every object of every scene after one click, in scene order (float array).

    Scenes must be square at the model's input size (the synthetic generators' default for the
    demo model), so no resizing is involved.
    """
    device = next(sam.parameters()).device
    scenes = list(scenes)
    side = sam.image_encoder.img_size
    for scene in scenes:
        if scene.image.shape[:2] != (side, side):
            raise ValueError(f"scene is {scene.image.shape[1]}x{scene.image.shape[0]}, the model takes {side}x{side}")
    ious: list[float] = []
    for start in range(0, len(scenes), batch_size):
        ious.extend(_batch_ious(sam, scenes[start:start + batch_size], device))
    return np.asarray(ious, dtype=np.float64)


def _batch_ious(sam: Sam, scenes: list[Scene], device: torch.device) -> list[float]:
    images = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2).float().to(device)
    embeddings = sam.image_encoder(sam.preprocess(images))
    pe = sam.prompt_encoder.get_dense_pe()
    out = []
    for b, scene in enumerate(scenes):
        gt = torch.from_numpy(np.stack(scene.masks)).to(device)
        points = torch.tensor([interior_point(m) for m in scene.masks], dtype=torch.float32, device=device)[:, None]
        sparse, dense = sam.prompt_encoder(points=(points, torch.ones(len(gt), 1, device=device)),
                                           boxes=None, masks=None)
        low, iou_pred = sam.mask_decoder(image_embeddings=embeddings[b:b + 1], image_pe=pe,
                                         sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                         multimask_output=True)
        best = low[torch.arange(len(gt)), iou_pred.argmax(dim=1)][:, None]
        masks = F.interpolate(best, size=gt.shape[-2:], mode="bilinear", align_corners=False)[:, 0] > 0
        out.extend(mask_iou(masks, gt).tolist())
    return out
