"""`mopeft eval --auto`: automatic segmentation (app.autoseg) scored against a COCO file's instances.

Every ground-truth category counts as one class, "object": the automatic segmentation proposes objects, not labels.
A proposal's predicted IoU is its detection score for COCO's AP.
"""
from __future__ import annotations

import json
import sys
import time


def run_auto(args) -> int:
    """Run the automatic segmentation on every image of `args.data` and print AP, AP50 and mSA; the exit status."""
    from app.cli._eval_inputs import load_dataset_and_model
    from app.coco.errors import CocoError
    from app.metrics.automatic import ImageMasks, coco_mask_ap, mean_segmentation_accuracy
    from app.models.any_family import engine_for
    from app.sam.embedding_cache import EmbeddingCache
    from app.services import proposing
    from app.store.masks import mask_to_rle

    if args.points_per_side is not None and args.points_per_side < 1:
        args.parser.error(f"--points-per-side must be at least 1, got {args.points_per_side}")
    params = None if args.points_per_side is None else proposing.AutoParams(points_per_side=args.points_per_side)
    started = time.perf_counter()
    inputs = load_dataset_and_model(args)
    if inputs is None:
        return 1
    dataset, _device, loaded = inputs
    if dataset.instance_count == 0:
        print(f"mopeft eval: error: {dataset.path}: no instances to evaluate", file=sys.stderr)
        return 1
    print(f"data: {dataset.path}: {len(dataset)} images, {dataset.instance_count} instances, every category "
          "taken as one class")
    loaded.sam.eval()
    engine = engine_for(loaded.sam, EmbeddingCache(disk=False, max_items=1))
    scored = []
    try:
        for n in range(len(dataset)):
            image = dataset[n]
            found = proposing.propose_image(engine, image.rgb, (), params)
            scored.append(ImageMasks([mask_to_rle(m) for m in image.masks], [p.rle for p in found],
                                     [p.predicted_iou for p in found]))
            print(f"[eval] {n + 1}/{len(dataset)} {image.name}: {len(found)} proposals, {len(image.masks)} "
                  "instances", file=sys.stderr)
    except CocoError as exc:  # an image that fails to load
        print(f"mopeft eval: error: {exc}", file=sys.stderr)
        return 1
    ap, ap50 = coco_mask_ap(scored)
    msa = mean_segmentation_accuracy(scored)
    print(f"mask AP       {ap:.4f}  (COCOeval segm, IoU 0.50:0.95)")
    print(f"mask AP50     {ap50:.4f}")
    print(f"mSA           {msa:.4f}  (mean segmentation accuracy, IoU 0.50:0.95)")
    print(f"time          {time.perf_counter() - started:.1f} s")
    if args.json:
        print(json.dumps({"ap": ap, "ap50": ap50, "msa": msa, "images": len(dataset),
                          "instances": dataset.instance_count}))
    return 0
