"""propose_instances: every instance SAM finds in an image from a grid of point prompts.

The same masks as segment_anything's SamAutomaticMaskGenerator with the same parameters (tests/autoseg), in
less time: the points are decoded in batches on the engine's cached embedding (`SamEngine.point_logits`), the
predicted-IoU filter runs before any mask is up-scaled, and only the survivors are up-scaled (OpenCV), scored
for stability, boxed and encoded (pycocotools), one at a time. docs/engine.md has the steps. A SAM 2.1 engine
(`app.sam2.Sam2Engine`) works the same way, its masks up-scaled as its `predict` does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torchvision.ops import batched_nms

from app.autoseg.filters import inside_fraction, mask_box, near_crop_edge, remove_small_regions, stability_score
from app.autoseg.grid import crop_boxes, point_grid
from app.autoseg.params import AutoParams
from app.autoseg.proposal import ProposedMask
from app.sam.engine import SamEngine, as_rgb
from app.store.masks import mask_to_rle, rle_area, rle_bbox, rle_to_mask


class ProposalsCancelled(Exception):
    """`propose_instances` stopped because its `cancel()` returned true."""


@dataclass(frozen=True)
class _Candidate:
    rle: dict
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels, last row and column included
    predicted_iou: float
    stability: float
    point: tuple[float, float]
    crop: tuple[int, int, int, int]


def propose_instances(engine: SamEngine, image, params: AutoParams = AutoParams(), accepted: Sequence = (),
                      progress: Callable[[int, int], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> list[ProposedMask]:
    """Propose every instance in `image` (what `engine.set_image` takes) with the engine's model.

    `accepted`: H x W bool masks of instances already accepted; a proposal with more than
    `params.accepted_overlap` of its area inside them is dropped. `progress(done, total)` is called after each
    batch of points, `cancel()` checked before each (true: `ProposalsCancelled`). Returns the proposals by
    predicted IoU, best first; a mask of no pixel is never one (SamAutomaticMaskGenerator keeps them when its
    stability filter is off). The engine's current image is `image` afterwards, crop layers or not; with crop
    layers each crop is its current image while it runs, so nothing else should prompt the engine meanwhile.
    """
    rgb = as_rgb(image)
    size = rgb.shape[:2]
    accepted_rle = _union_rle(accepted, size)
    crops = crop_boxes(size, params)
    batches = [-(-params.points_in_layer(layer) ** 2 // params.points_per_batch) for _, layer in crops]
    total, done = sum(batches), 0
    candidates: list[_Candidate] = []
    try:
        for (crop, layer), n_batches in zip(crops, batches):
            x0, y0, x1, y1 = crop
            engine.set_image(rgb if layer == 0 else np.ascontiguousarray(rgb[y0:y1, x0:x1]))
            points = point_grid(params.points_in_layer(layer)) * (x1 - x0, y1 - y0)
            found = []
            for b in range(n_batches):
                if cancel is not None and cancel():
                    raise ProposalsCancelled("automatic segmentation cancelled")
                batch = points[b * params.points_per_batch : (b + 1) * params.points_per_batch]
                found += _decode(engine, batch, crop, size, params)
                done += 1
                if progress is not None:
                    progress(done, total)
            candidates += _nms(found, torch.tensor([c.predicted_iou for c in found]), params.box_nms_thresh)
    finally:
        if len(crops) > 1:
            engine.set_image(rgb)
    if len(crops) > 1:  # duplicates across crops: the one from the smaller crop stays
        areas = torch.tensor([(c.crop[2] - c.crop[0]) * (c.crop[3] - c.crop[1]) for c in candidates])
        candidates = _nms(candidates, 1 / areas, params.crop_nms_thresh)
    if params.min_mask_region_area > 0:
        candidates = _without_small_regions(candidates, params)
    proposals = [p for p in map(_proposal, candidates) if p.area > 0]   # with the filters off, empty masks pass
    proposals = [p for p in proposals if inside_fraction(p.rle, p.area, accepted_rle) <= params.accepted_overlap]
    return sorted(proposals, key=lambda p: -p.predicted_iou)


def outside_accepted(proposals: Sequence, accepted: Sequence, overlap: float) -> list:
    """The `proposals` (anything with a compressed `rle`, as ProposedMask) with at most `overlap` of their area
    inside the `accepted` H x W bool masks, in their order: the filter `propose_instances` applies, for instances
    accepted while it ran."""
    if not proposals or not len(accepted):
        return list(proposals)
    union = _union_rle(accepted, tuple(proposals[0].rle["size"]))
    return [p for p in proposals if inside_fraction(p.rle, rle_area(p.rle), union) <= overlap]


def _decode(engine: SamEngine, points: np.ndarray, crop: tuple[int, int, int, int], size: tuple[int, int],
            params: AutoParams) -> list[_Candidate]:
    """One batch of points on the current (crop) image: decode, filter by predicted IoU, then up-scale only the
    survivors, one at a time, for the stability score, the box, the crop-edge test and the RLE."""
    out = engine.point_logits(points)
    per_point = out.scores.shape[1]
    scores = out.scores.flatten()
    keep = torch.arange(scores.numel(), device=scores.device)
    if params.pred_iou_thresh > 0:
        keep = keep[scores > params.pred_iou_thresh]
    logits = out.low_res.flatten(0, 1)[keep].cpu().numpy()
    scores, keep = scores[keep].cpu().numpy(), keep.cpu().numpy()
    threshold = engine.mask_threshold
    x0, y0 = crop[:2]
    found = []
    for index, plane, score in zip(keep, logits, scores):
        up = engine.logits_at_image_size(plane, out)
        stability = stability_score(up, threshold, params.stability_score_offset)
        if params.stability_score_thresh > 0 and not stability >= np.float32(params.stability_score_thresh):
            continue
        mask = up > threshold
        box = mask_box(mask)
        if near_crop_edge(box, crop, size):
            continue
        if mask.shape != size:
            mask = np.pad(mask, ((y0, size[0] - y0 - mask.shape[0]), (x0, size[1] - x0 - mask.shape[1])))
        px, py = points[index // per_point]
        found.append(_Candidate(mask_to_rle(mask), (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0),
                                float(score), float(stability), (float(px) + x0, float(py) + y0), crop))
    return found


def _nms(candidates: list[_Candidate], scores: torch.Tensor, threshold: float) -> list[_Candidate]:
    """Box non-maximum suppression (torchvision's): the survivors, highest score first."""
    if not candidates:
        return []
    boxes = torch.tensor([c.box for c in candidates], dtype=torch.float)
    keep = batched_nms(boxes, scores.float(), torch.zeros(len(candidates)), threshold)
    return [candidates[i] for i in keep.tolist()]


def _without_small_regions(candidates: list[_Candidate], params: AutoParams) -> list[_Candidate]:
    """Remove small holes and islands from every mask, then box NMS again, preferring masks that needed no
    change (a changed mask may now duplicate another)."""
    cleaned, unchanged = [], []
    for c in candidates:
        mask, changed = remove_small_regions(rle_to_mask(c.rle), params.min_mask_region_area)
        cleaned.append(replace(c, rle=mask_to_rle(mask), box=mask_box(mask)) if changed else c)
        unchanged.append(float(not changed))
    return _nms(cleaned, torch.tensor(unchanged), max(params.box_nms_thresh, params.crop_nms_thresh))


def _proposal(c: _Candidate) -> ProposedMask:
    return ProposedMask(c.rle, rle_area(c.rle), rle_bbox(c.rle), c.predicted_iou, c.stability, c.point)


def _union_rle(accepted: Sequence, size: tuple[int, int]) -> dict | None:
    """The union of the accepted masks as compressed RLE; None when there are none."""
    if len(accepted) == 0:
        return None
    union = np.zeros(size, dtype=bool)
    for i, mask in enumerate(accepted):
        mask = np.asarray(mask)
        if mask.shape != size or mask.dtype != bool:
            raise ValueError(f"accepted mask {i} must be a {size[0]} x {size[1]} bool array, "
                             f"got shape {mask.shape} dtype {mask.dtype}")
        union |= mask
    return mask_to_rle(union)
