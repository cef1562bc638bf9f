"""`mopeft bench auto`: automatic segmentation, propose_instances against SamAutomaticMaskGenerator, side by side.

Both run on the same model, image and parameters, interleaved, and both start from the same precomputed
embedding, so only what comes after the encoder is timed: the engine has embedded the image before the clock
starts (its `set_image` inside `propose_instances` is a cache hit, timed with it), and the generator's
predictor gets that embedding in place of running its encoder (its `set_image` is replaced by one that sets
`features`; everything else of `generate` runs as shipped, with `output_mode="coco_rle"`, the compressed RLE
that `propose_instances` returns too). So crop layers are off here. Models: `demo` is the shipped weights at
low thresholds (at SAM's defaults the weak demo model keeps almost no mask); an architecture name is random
weights with both quality thresholds at 0, since random weights fail every quality filter and the timing would
measure no mask work. The masks are compared: counts, and each proposal's best IoU with a generator mask.
"""
from __future__ import annotations

import numpy as np

from app.bench._models import sam_by_name, start_model_bench
from app.bench._timing import median, time_interleaved

DEMO_THRESHOLDS = dict(pred_iou_thresh=0.3, stability_score_thresh=0.5, stability_score_offset=0.5)
NO_THRESHOLDS = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0)


def register(sub) -> None:
    p = sub.add_parser("auto", help="automatic segmentation: propose_instances vs SamAutomaticMaskGenerator "
                                    "(time after the embedding, mask agreement)")
    p.add_argument("--archs", nargs="+", default=["vit_b", "demo"],
                   help="models: demo (the shipped weights) or an architecture with random weights (default: vit_b "
                        "demo)")
    p.add_argument("--points-per-side", type=int, default=32, help="grid points per side (default 32)")
    p.add_argument("--size", type=int, default=1024, help="side of the square test image (default 1024)")
    p.add_argument("--repeat", type=int, default=1, help="timed runs of each (default 1)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(run=run)


def _model(name: str):
    """(sam, label, thresholds) for a model name."""
    sam, label = sam_by_name(name)
    return sam, label, DEMO_THRESHOLDS if label == name else NO_THRESHOLDS


def _use_embedding(predictor, embedding) -> None:
    """Make the predictor's `set_image` install `embedding` instead of running the encoder."""
    def set_image(image, image_format="RGB"):
        predictor.reset_image()
        predictor.original_size = image.shape[:2]
        predictor.input_size = predictor.transform.get_preprocess_shape(*image.shape[:2],
                                                                        predictor.model.image_encoder.img_size)
        predictor.features, predictor.is_image_set = embedding, True

    predictor.set_image = set_image


def _matched_ious(ours: list[dict], reference: list[dict]) -> np.ndarray:
    """For each of our RLEs, its best IoU with a reference RLE (pycocotools, on the RLEs)."""
    from pycocotools import mask as mask_utils

    if not ours or not reference:
        return np.zeros(len(ours))
    ious = mask_utils.iou(ours, reference, [0] * len(reference))
    return np.asarray(ious).max(axis=1)


def measure(arch: str, args) -> list[tuple[str, ...]]:
    """Rows (model, settings, generator s, ours s, ratio, masks, matched IoU) for one model."""
    from segment_anything import SamAutomaticMaskGenerator

    from app.autoseg import AutoParams, propose_instances
    from app.sam.engine import SamEngine
    from app.synth import make_scene

    sam, label, thresholds = _model(arch)
    image = make_scene("shapes", 5, 0, size=args.size).image
    params = AutoParams(points_per_side=args.points_per_side, **thresholds)
    engine = SamEngine(sam)
    engine.set_image(image)  # the embedding, before any clock
    generator = SamAutomaticMaskGenerator(sam, output_mode="coco_rle",
                                          **{k: v for k, v in params.to_dict().items() if k != "accepted_overlap"})
    _use_embedding(generator.predictor, engine.image_embedding)
    results = {}

    def run_generator():
        results["reference"] = [r["segmentation"] for r in generator.generate(image)]

    def run_ours():
        results["ours"] = [p.rle for p in propose_instances(engine, image, params)]

    times = time_interleaved({"generator": run_generator, "ours": run_ours}, args.repeat, warmup=0)
    ref_s, ours_s = median(times["generator"]), median(times["ours"])
    ious = _matched_ious(results["ours"], results["reference"])
    agreement = (f"min {ious.min():.4f}, mean {ious.mean():.4f}, {np.mean(ious >= 0.99):.0%} >= 0.99"
                 if len(ious) else "no masks")
    settings = ", ".join(f"{k} {v:g}" for k, v in thresholds.items())
    return [(label, settings, f"{ref_s:.2f}", f"{ours_s:.2f}", f"{ours_s / ref_s:.2f}x",
             f"{len(results['reference'])} / {len(results['ours'])}", agreement)]


def run(args) -> int:
    import torch

    if not start_model_bench(args):
        return 2
    print(f"mopeft bench auto --archs {' '.join(args.archs)} --points-per-side {args.points_per_side} "
          f"--size {args.size} --repeat {args.repeat} (CPU, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; seconds after the embedding, median of {args.repeat})")
    print("| model | thresholds | SamAutomaticMaskGenerator, s | propose_instances, s | ratio (goal <= 0.25x) "
          "| masks (generator / ours) | matched IoU |")
    print("|---|---|---|---|---|---|---|")
    for arch in args.archs:
        for row in measure(arch, args):
            print("| " + " | ".join(row) + " |", flush=True)
    return 0
