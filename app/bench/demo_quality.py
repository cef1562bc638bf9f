"""`mopeft bench demo`: how good a model is as the demo model, every measure of the demo-model issue in one table.

On held-out scenes (seed 1000, never trained on) of the training generator (`shapes`) and of the second, separately
written in-domain generator (`holdout`): 1-click mIoU and NoC@85 (the click protocol of docs/evaluation.md); how
often the top-scored of the three candidates after one click is the best one; whether a box prompt's mask stays
inside the box and a negative point's pixel ends as background; masks on a 4000 x 3000 photo (the scenes scaled up)
against their objects' size; the embedding time on this CPU and the weights' size. Each row has its goal.
"""
from __future__ import annotations

import json
import time

import cv2
import numpy as np

from app.bench._timing import median

VALIDATION_SEED = 1000
LARGE = (4000, 3000)
"""Width and height of the large photo the scenes are scaled to."""
GOALS = {
    "shapes 1-click mIoU": (">=", 0.80), "holdout 1-click mIoU": (">=", 0.70), "shapes NoC@85": ("<=", 10.0),
    "top-scored candidate is the best": (">=", 0.80), "box mask outside the box": ("<=", 0.02),
    "negative point left background": (">=", 0.95), "large photo mask / object area": ("within", (0.5, 2.0)),
    "embedding seconds": ("<=", 0.5), "weights MB": ("<=", 40.0),
}
"""Goal of each measure ("NoC@85 well below 20" read as at most 10, "well under a second" as half a second)."""


def register(sub) -> None:
    p = sub.add_parser("demo", help="the demo model's quality: in-domain and hold-out mIoU, ranking, prompts "
                                    "respected, large photos, speed and size, each against its goal")
    p.add_argument("--model", default="demo", help="a registered model name or a checkpoint file (default demo)")
    p.add_argument("--scenes", type=int, default=64, help="held-out scenes per generator (default 64)")
    p.add_argument("--large-scenes", type=int, default=4, help="scenes scaled to 4000x3000 (default 4)")
    p.add_argument("--json", action="store_true", help="end with one JSON line of every measure")
    p.set_defaults(run=run)


def _candidates(engine, gt: np.ndarray) -> tuple[float, float, bool]:
    """After the first click on `gt`: IoU of the top-scored candidate, of the best one, and whether they agree."""
    from app.metrics.clicks import first_click
    from app.metrics.iou import mask_iou

    click = first_click(gt)
    prediction = engine.predict(points=np.array([[click.x, click.y]]), labels=np.array([1]))
    ious = [mask_iou(m, gt) for m in prediction.masks]
    return ious[prediction.best], max(ious), prediction.best == int(np.argmax(ious))


def _box_outside(engine, gt: np.ndarray) -> float:
    """Share of the mask a box prompt (the object's tight box) gives that lies outside the box."""
    ys, xs = np.nonzero(gt)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    mask = engine.predict(box=box, multimask=False).masks[0]
    inside = np.zeros_like(mask)
    inside[box[1]:box[3], box[0]:box[2]] = True
    return float((mask & ~inside).sum() / max(int(mask.sum()), 1))


def _negative_respected(engine, gt: np.ndarray) -> bool | None:
    """A positive click inside the object and a negative one on the background beside it (the background pixel of
    the object's box grown by a quarter that is farthest from any edge): is the negative pixel background?"""
    from app.metrics.clicks import first_click, interior_point

    ys, xs = np.nonzero(gt)
    h, w = gt.shape
    gy, gx = (ys.max() - ys.min()) // 4 + 2, (xs.max() - xs.min()) // 4 + 2
    window = np.zeros_like(gt)
    window[max(ys.min() - gy, 0):ys.max() + gy, max(xs.min() - gx, 0):xs.max() + gx] = True
    background = window & ~gt
    if not background.any():
        return None
    nx, ny = interior_point(background)
    click = first_click(gt)
    prediction = engine.predict(points=np.array([[click.x, click.y], [nx, ny]]), labels=np.array([1, 0]),
                                multimask=False)
    return not bool(prediction.masks[0][ny, nx])


def _large_area_ratio(engine, scene) -> list[float]:
    """Each object's 1-click mask area over its own area, on the scene scaled to LARGE."""
    from app.metrics.clicks import first_click

    image = cv2.resize(scene.image, LARGE, interpolation=cv2.INTER_LINEAR)
    engine.set_image(image)
    ratios = []
    for mask in scene.masks:
        gt = cv2.resize(mask.astype(np.uint8), LARGE, interpolation=cv2.INTER_NEAREST).astype(bool)
        click = first_click(gt)
        prediction = engine.predict(points=np.array([[click.x, click.y]]), labels=np.array([1]))
        ratios.append(float(prediction.masks[prediction.best].sum() / gt.sum()))
    return ratios


def measure(sam, weights_bytes: int, scenes: int, large_scenes: int) -> dict[str, float]:
    """Every measure of the table for `sam` (eval mode, on its device)."""
    from app.metrics.evaluate import evaluate_sam
    from app.sam.engine import SamEngine
    from app.synth import eval_images, generate

    size = sam.image_encoder.img_size
    shapes = list(generate("shapes", scenes, VALIDATION_SEED, size))
    holdout = list(generate("holdout", scenes, VALIDATION_SEED, size))
    in_domain = evaluate_sam(sam, eval_images(shapes))
    result = {"shapes 1-click mIoU": in_domain.miou_1click, "shapes NoC@85": in_domain.noc85}
    result["holdout 1-click mIoU"] = evaluate_sam(sam, eval_images(holdout)).miou_1click
    engine = SamEngine(sam)
    agree, best, outside, negative = [], [], [], []
    for scene in shapes:
        engine.set_image(scene.image)
        for gt in scene.masks:
            _, top_best, same = _candidates(engine, gt)
            agree.append(same)
            best.append(top_best)
            outside.append(_box_outside(engine, gt))
            respected = _negative_respected(engine, gt)
            if respected is not None:
                negative.append(respected)
    result["top-scored candidate is the best"] = float(np.mean(agree))
    result["shapes best-candidate mIoU"] = float(np.mean(best))
    result["box mask outside the box"] = float(np.mean(outside))
    result["negative point left background"] = float(np.mean(negative))
    ratios = [r for scene in shapes[:large_scenes] for r in _large_area_ratio(engine, scene)]
    result["large photo mask / object area"] = float(np.median(ratios))
    timing, times = SamEngine(sam), []   # a fresh memory cache: each holdout image is embedded, not found
    for scene in holdout[:3]:
        start = time.perf_counter()
        timing.set_image(scene.image)
        times.append(time.perf_counter() - start)
    result["embedding seconds"] = median(times)
    result["weights MB"] = weights_bytes / 1e6
    return result


def _met(name: str, value: float) -> str:
    if name not in GOALS:
        return ""
    how, goal = GOALS[name]
    ok = value >= goal if how == ">=" else value <= goal if how == "<=" else goal[0] <= value <= goal[1]
    return "met" if ok else "NOT met"


def run(args) -> int:
    import torch

    from app.sam.checkpoints import load_sam

    if args.scenes < 1 or args.large_scenes < 0:
        print("mopeft bench demo: --scenes must be at least 1 and --large-scenes at least 0")
        return 2
    torch.manual_seed(0)
    loaded = load_sam(args.model, device="cpu")
    result = measure(loaded.sam.eval(), loaded.path.stat().st_size, args.scenes, args.large_scenes)
    print(f"model {args.model} ({loaded.arch}), {args.scenes} held-out scenes per generator (seed {VALIDATION_SEED})")
    print(f"{'measure':34s} {'value':>8s}  {'goal':14s} ")
    for name, value in result.items():
        how, goal = GOALS.get(name, ("", ""))
        goal_text = f"{goal[0]}-{goal[1]}" if how == "within" else f"{how} {goal}" if how else ""
        print(f"{name:34s} {value:8.3f}  {goal_text:14s} {_met(name, value)}")
    if args.json:
        print(json.dumps({"model": args.model, **result}))
    return 0
