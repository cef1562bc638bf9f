"""`mopeft bench latency`: prompt -> mask latency of SamEngine vs SamPredictor, cache hits, embedding time.

Everything for one architecture is measured in one run on one embedding: each random prompt is
timed with SamPredictor.predict, the engine's exact path and its fast path in turn, so machine
load hits all three alike. The fast path's masks are compared with SamPredictor's (IoU).
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np


def register(sub) -> None:
    p = sub.add_parser("latency", help="prompt->mask latency (engine vs SamPredictor), cache-hit set_image, "
                                       "embedding time")
    p.add_argument("--archs", nargs="+", default=["vit_b", "demo"],
                   help="SAM architectures to measure (vit_b, vit_l, vit_h, demo, tiny), random weights "
                        "(default: vit_b demo)")
    p.add_argument("--prompts", type=int, default=20, help="random prompts timed per mode (default 20)")
    p.add_argument("--size", type=int, nargs=2, default=[1024, 1024], metavar=("H", "W"),
                   help="image height and width (default 1024 1024)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(run=run)


def test_image(height: int, width: int) -> np.ndarray:
    """A smooth synthetic RGB image with a few discs, so it is not noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin(x / 37.0) * np.cos(y / 23.0)], axis=-1) * 160
    rng = np.random.default_rng(0)
    for _ in range(6):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.05, 0.2) * min(height, width)
        rgb[(y - cy) ** 2 + (x - cx) ** 2 < r * r] += rng.uniform(40, 95, 3)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def random_prompts(n: int, height: int, width: int) -> list[dict]:
    """n prompt sets: 1-3 points with labels (the first positive), plus a box every other time."""
    rng = np.random.default_rng(1)
    prompts = []
    for i in range(n):
        k = int(rng.integers(1, 4))
        points = rng.uniform((0, 0), (width, height), (k, 2))
        labels = np.concatenate([[1], rng.integers(0, 2, k - 1)])
        box = None
        if i % 2:
            corners = np.sort(rng.uniform((0, 0), (width, height), (2, 2)), axis=0)
            box = corners.reshape(4)
        prompts.append(dict(points=points, labels=labels, box=box))
    return prompts


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def measure(arch: str, image: np.ndarray, n_prompts: int) -> list[tuple[str, str, str, str]]:
    """Rows (measure, p50, p95, note) of the latency table for one architecture."""
    import torch
    from segment_anything import SamPredictor

    from app.sam.embedding_cache import EmbeddingCache
    from app.sam.engine import SamEngine
    from app.sam.signature import model_signature
    from app.sam.variants import build_sam

    torch.manual_seed(0)
    sam = build_sam(arch)
    rows = []
    with tempfile.TemporaryDirectory() as cache_dir:
        fast = SamEngine(sam, cache=EmbeddingCache(cache_dir))
        exact = SamEngine(sam, cache=fast.cache, fast=False)
        seconds, _ = _timed(lambda: fast.set_image(image))
        rows.append(("embedding (encoder, cache miss), 1 run", f"{seconds * 1000:.0f}", "", ""))
        exact.set_image(image)
        memory = [_timed(lambda: fast.set_image(image))[0] for _ in range(10)]
        reader = SamEngine(sam, cache=EmbeddingCache(cache_dir))
        disk = []
        for _ in range(10):
            reader.cache = EmbeddingCache(cache_dir)  # empty memory: the hit is read from the file
            disk.append(_timed(lambda: reader.set_image(image))[0])
    rows.append(("set_image, cache hit in memory (goal <= 100 ms)", f"{_ms(memory, 50):.1f}", f"{_ms(memory, 95):.1f}", ""))
    rows.append(("set_image, cache hit on disk (goal <= 100 ms)", f"{_ms(disk, 50):.1f}", f"{_ms(disk, 95):.1f}", ""))
    sig, _ = _timed(lambda: model_signature(sam))
    rows.append(("model signature (refresh_model)", f"{sig * 1000:.1f}", "", ""))

    reference = SamPredictor(sam)  # same embedding: no second encoder run
    reference.features, reference.is_image_set = fast.image_embedding, True
    reference.original_size = image.shape[:2]
    reference.input_size = reference.transform.get_preprocess_shape(*image.shape[:2], sam.image_encoder.img_size)
    prompts = random_prompts(n_prompts, *image.shape[:2])
    for multimask in (True, False):
        times: dict[str, list[float]] = {"SamPredictor.predict": [], "engine, exact path": [], "engine, fast path": []}
        ious = []
        for p in [prompts[0]] + prompts:  # the first call warms up and is not counted
            t_ref, (masks, _, _) = _timed(lambda: reference.predict(p["points"], p["labels"], p["box"],
                                                                    multimask_output=multimask))
            t_exact, _ = _timed(lambda: exact.predict(multimask=multimask, **p))
            t_fast, pred = _timed(lambda: fast.predict(multimask=multimask, **p))
            for name, t in zip(times, (t_ref, t_exact, t_fast)):
                times[name].append(t)
            ious.extend(_iou(a, b) for a, b in zip(pred.masks, masks))
        ref50 = _ms(times["SamPredictor.predict"][1:], 50)
        label = "3 masks" if multimask else "1 mask"
        for name, values in times.items():
            values = values[1:]
            note = f"{_ms(values, 50) / ref50:.2f}x SamPredictor"
            if name == "engine, fast path":
                note += f"; IoU vs SamPredictor min {min(ious):.4f} mean {np.mean(ious):.4f}"
            rows.append((f"{name}, {label}", f"{_ms(values, 50):.1f}", f"{_ms(values, 95):.1f}", note))
    return rows


def run(args) -> int:
    import torch

    from app.sam.variants import ARCHS

    unknown = [a for a in args.archs if a not in ARCHS]
    if unknown:
        print(f"error: unknown architecture {unknown[0]!r}; known: {', '.join(ARCHS)}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    h, w = args.size
    image = test_image(h, w)
    print(f"mopeft bench latency --archs {' '.join(args.archs)} --prompts {args.prompts} --size {h} {w} "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, random weights; times in ms)")
    table = [(arch, *row) for arch in args.archs for row in measure(arch, image, args.prompts)]
    header = ("arch", "measure", "p50 ms", "p95 ms", "note")
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    for i, row in enumerate([header, *table]):
        print("| " + " | ".join(str(c).ljust(wd) for c, wd in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    return 0
