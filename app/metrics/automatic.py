"""Scores of automatic (promptless) segmentation against ground truth: COCO mask AP and mean segmentation accuracy.

Masks are compressed COCO RLEs ({'size': [h, w], 'counts': ...}, as app.store.masks.mask_to_rle makes them).
Every instance is one class: whatever the ground truth's categories, the automatic segmentation proposes objects,
not labels, so both AP and mSA score them class-agnostically.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

THRESHOLDS = tuple(np.round(np.arange(0.5, 1.0, 0.05), 2))
"""The IoU thresholds of mSA and of COCO's AP: 0.50, 0.55, ..., 0.95."""

MAX_DETECTIONS = 1000
"""Detections per image COCOeval keeps for AP (COCO's 100 is too few for a crowded microscopy image)."""


@dataclass(frozen=True)
class ImageMasks:
    """One image's ground truth and predicted masks; `scores` ranks the predictions (the predicted IoU)."""

    truth: Sequence[dict]
    predicted: Sequence[dict]
    scores: Sequence[float]


def segmentation_accuracy(iou: np.ndarray, threshold: float) -> float:
    """TP / (TP + FP + FN) at one IoU threshold, from the predicted x truth IoU matrix of one image.

    Matching is one-to-one and greedy: pairs are taken by IoU, highest first, while both masks are free. Above 0.5
    this is the optimal matching whenever the truth masks do not overlap one another (then a prediction can have
    IoU above 0.5 with one truth mask at most), which is the case for instance segmentations; scipy's
    linear_sum_assignment is not used because scipy is not among this app's dependencies.
    """
    predicted, truth = iou.shape
    if predicted + truth == 0:
        return 1.0
    used_p, used_t, tp = set(), set(), 0
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        p, t = divmod(int(flat), truth)
        if iou[p, t] < threshold:
            break
        if p not in used_p and t not in used_t:
            used_p.add(p)
            used_t.add(t)
            tp += 1
    return tp / (predicted + truth - tp)     # TP + FP + FN


def mean_segmentation_accuracy(images: Sequence[ImageMasks]) -> float:
    """Mean segmentation accuracy (mSA), the score micro-sam reports for automatic segmentation (Archit et al.,
    "Segment Anything for Microscopy", Nature Methods 2025, after Caicedo et al., Nature Methods 2019, the Data
    Science Bowl 2018 metric): per image, `segmentation_accuracy` averaged over THRESHOLDS; then the mean over
    images. An image without predictions scores 0."""
    if not images:
        raise ValueError("mean_segmentation_accuracy needs at least one image")
    per_image = []
    for image in images:
        iou = _ious(image.predicted, image.truth)
        per_image.append(float(np.mean([segmentation_accuracy(iou, t) for t in THRESHOLDS])))
    return float(np.mean(per_image))


def coco_mask_ap(images: Sequence[ImageMasks]) -> tuple[float, float]:
    """COCO mask AP over IoU 0.50:0.95 and AP at IoU 0.50 (pycocotools' COCOeval, iouType 'segm', one class, at
    most MAX_DETECTIONS per image); (0, 0) when nothing is predicted."""
    truth, detections = [], []
    for image_id, image in enumerate(images, start=1):
        truth += [_annotation(len(truth) + k + 1, image_id, rle) for k, rle in enumerate(image.truth)]
        detections += [{**_annotation(0, image_id, rle), "score": float(score)}
                       for rle, score in zip(image.predicted, image.scores)]
    if not detections:
        return 0.0, 0.0
    ground = COCO()
    sizes = [next((list(r["size"]) for r in (*image.truth, *image.predicted)), [1, 1]) for image in images]
    ground.dataset = {"images": [{"id": i, "height": h, "width": w} for i, (h, w) in enumerate(sizes, start=1)],
                      "categories": [{"id": 1, "name": "object"}], "annotations": truth}
    with contextlib.redirect_stdout(io.StringIO()):     # pycocotools prints its progress
        ground.createIndex()
        evaluation = COCOeval(ground, ground.loadRes(detections), "segm")
        evaluation.params.maxDets = [1, 10, MAX_DETECTIONS]
        evaluation.evaluate()
        evaluation.accumulate()
    # precision[iou threshold, recall, class, area range, max detections]; -1 where there is no ground truth.
    # Read here, not from summarize(), whose first figure is fixed at 100 detections whatever maxDets says.
    precision = evaluation.eval["precision"][:, :, 0, 0, -1]
    return _mean_valid(precision), _mean_valid(precision[0])


def _mean_valid(precision: np.ndarray) -> float:
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else 0.0


def _annotation(annotation_id: int, image_id: int, rle: dict) -> dict:
    rle = _bytes(rle)
    return {"id": annotation_id, "image_id": image_id, "category_id": 1, "segmentation": rle, "iscrowd": 0,
            "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)]}


def _ious(predicted: Sequence[dict], truth: Sequence[dict]) -> np.ndarray:
    if not predicted or not truth:
        return np.zeros((len(predicted), len(truth)))
    return np.asarray(mask_utils.iou([_bytes(r) for r in predicted], [_bytes(r) for r in truth],
                                     [0] * len(truth))).reshape(len(predicted), len(truth))


def _bytes(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
