"""Interactive-segmentation metrics (RITM/SAM protocol): 1-click IoU, NoC@85, NoC@90. Qt-free.

    dataset = load_coco_dataset("val/instances.json")
    result = evaluate_sam(sam, dataset)            # or evaluate(predictor, dataset) with any Predictor
    result.summary()   # {"miou_1click": 0.81, "noc85": 3.2, "noc90": 5.0, "instances": 120}

The protocol and its conventions: docs/evaluation.md.
"""
from app.metrics.clicks import Click, first_click, interior_point, next_click
from app.metrics.dataset import CocoEvalDataset, EvalImage, load_coco_dataset
from app.metrics.evaluate import count_instances, evaluate, evaluate_sam
from app.metrics.interactive import InstanceResult, PredictionLike, Predictor, click_ious, clicks_to_reach
from app.metrics.iou import mask_iou
from app.metrics.result import EvalResult

__all__ = [
    "Click", "CocoEvalDataset", "EvalImage", "EvalResult", "InstanceResult", "PredictionLike", "Predictor",
    "click_ious", "clicks_to_reach", "count_instances", "evaluate", "evaluate_sam", "first_click",
    "interior_point", "load_coco_dataset", "mask_iou", "next_click",
]
