"""Run the click protocol over a dataset: with any predictor, or with a SAM model held in memory."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from segment_anything.modeling import Sam

from app.metrics.dataset import EvalImage
from app.metrics.interactive import InstanceResult, Predictor, click_ious
from app.metrics.result import EvalResult


def count_instances(images: Sequence[EvalImage]) -> int:
    """Instances in a dataset: its `instance_count` when it has one (no image loaded), else counted."""
    count = getattr(images, "instance_count", None)
    return count if count is not None else sum(len(image.masks) for image in images)


def evaluate(predictor: Predictor, images: Sequence[EvalImage], max_clicks: int = 20,
             progress: Callable[[int, int, str], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> EvalResult:
    """Every instance of every image through the click protocol (docs/evaluation.md).

    `images` is a `CocoEvalDataset` or any sequence of `EvalImage`. `progress(done, total, image name)` is
    called after each instance; `cancel()` is checked before each and stops the run, which then returns the
    instances done so far with `cancelled` set.
    """
    if max_clicks < 1:
        raise ValueError(f"max_clicks must be at least 1, got {max_clicks}")
    total = count_instances(images)
    start = time.perf_counter()
    done: list[InstanceResult] = []
    cancelled = False
    for index in range(len(images)):
        if cancel is not None and cancel():
            cancelled = True
            break
        image = images[index]
        predictor.set_image(image.rgb)
        for instance, gt in zip(image.instance_ids, image.masks):
            if cancel is not None and cancel():
                cancelled = True
                break
            done.append(InstanceResult(image.name, instance, tuple(click_ious(predictor, gt, max_clicks))))
            if progress is not None:
                progress(len(done), total, image.name)
        if cancelled:
            break
    return EvalResult(tuple(done), max_clicks, time.perf_counter() - start, cancelled)


def evaluate_sam(sam: Sam, images: Sequence[EvalImage], max_clicks: int = 20,
                 progress: Callable[[int, int, str], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> EvalResult:
    """`evaluate` with a SAM 1 or SAM 2.1 model (a MoPEFT-wrapped one included) as it is in memory, on its own
    device, through its family's engine.

    Embeddings are kept in memory only, one image at a time. The model is put in eval mode for the run and
    given back in the train/eval mode it had, so a trainer can evaluate between steps.
    """
    from app.models.any_family import engine_for
    from app.sam.embedding_cache import EmbeddingCache

    was_training = sam.training
    try:
        engine = engine_for(sam, EmbeddingCache(disk=False, max_items=1))
        return evaluate(engine, images, max_clicks, progress, cancel)
    finally:
        sam.train(was_training)
