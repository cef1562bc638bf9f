"""`mopeft bench latency`: prompt -> mask latency of SamEngine vs SamPredictor, cache hits, embedding time.

Everything for one architecture is measured in one run on one embedding: each random prompt is
timed with SamPredictor.predict, the engine's exact path and its fast path in turn, so machine
load hits all three alike. The fast path's masks are compared with SamPredictor's (IoU). A SAM 2.1
architecture has the same embedding rows, then Sam2Engine's reference path (transformers' decoder) and its fast
path timed the same way, prompt by prompt, with the fast path's IoU against the reference.
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
                   help="SAM architectures to measure (vit_b, vit_l, vit_h, demo, tiny; SAM 2.1: sam2.1_hiera_t, "
                        "_s, _b+, _l, sam2_tiny), random weights (default: vit_b demo)")
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
    """Rows (measure, p50, p95, note) of the latency table for one architecture (random weights): the embedding
    and its cache hits, then the prompts (SAM 1 beside SamPredictor, SAM 2.1 beside its reference path)."""
    from app.mopeft.families import family
    from app.models.any_family import build_any_sam

    model = build_any_sam(arch)
    rows, engine = _embedding_rows(model, image)
    prompts = random_prompts(n_prompts, *image.shape[:2])
    if family(model) == "sam2":
        return rows + _sam2_prompt_rows(engine, image, prompts)
    return rows + _sam_prompt_rows(engine, image, prompts)


def _embedding_rows(model, image: np.ndarray) -> tuple[list[tuple[str, str, str, str]], object]:
    """The embedding (cache miss), cache hits in memory and on disk, the model signature; and the engine, its
    image set."""
    from app.models.any_family import engine_for
    from app.sam.embedding_cache import EmbeddingCache
    from app.sam.signature import model_signature

    rows = []
    with tempfile.TemporaryDirectory() as cache_dir:
        engine = engine_for(model, EmbeddingCache(cache_dir))
        seconds, _ = _timed(lambda: engine.set_image(image))
        rows.append(("embedding (encoder, cache miss), 1 run", f"{seconds * 1000:.0f}", "", ""))
        memory = [_timed(lambda: engine.set_image(image))[0] for _ in range(10)]
        reader = engine_for(model, EmbeddingCache(cache_dir))
        disk = []
        for _ in range(10):
            reader.cache = EmbeddingCache(cache_dir)  # empty memory: the hit is read from the file
            disk.append(_timed(lambda: reader.set_image(image))[0])
    rows.append(("set_image, cache hit in memory (goal <= 100 ms)", f"{_ms(memory, 50):.1f}", f"{_ms(memory, 95):.1f}", ""))
    rows.append(("set_image, cache hit on disk (goal <= 100 ms)", f"{_ms(disk, 50):.1f}", f"{_ms(disk, 95):.1f}", ""))
    sig, _ = _timed(lambda: model_signature(model))
    rows.append(("model signature (refresh_model)", f"{sig * 1000:.1f}", "", ""))
    return rows, engine


def _prompt_rows(times: dict[str, list[float]], reference: str, called: str, multimask: bool,
                 ious: list[float]) -> list[tuple[str, str, str, str]]:
    """A row per path of `times` (seconds per prompt, the first a warm-up left out): median, p95 and the ratio to
    the `reference` path's median (named `called` in the notes), with the fast path's IoU against it."""
    ref50 = _ms(times[reference][1:], 50)
    label = "3 masks" if multimask else "1 mask"
    rows = []
    for name, values in times.items():
        values = values[1:]
        note = f"{_ms(values, 50) / ref50:.2f}x {called}"
        if name == "engine, fast path":
            note += f"; IoU vs {called} min {min(ious):.4f} mean {np.mean(ious):.4f}"
        rows.append((f"{name}, {label}", f"{_ms(values, 50):.1f}", f"{_ms(values, 95):.1f}", note))
    return rows


def _sam2_prompt_rows(fast, image: np.ndarray, prompts: list[dict]) -> list[tuple[str, str, str, str]]:
    """Sam2Engine's reference path (transformers' Sam2Model decoder, the equal of its whole pipeline: tests/sam2)
    and its fast path on each prompt in turn, and the fast path's IoU with the reference."""
    from app.sam2.engine import Sam2Engine

    exact = Sam2Engine(fast.model, cache=fast.cache, fast=False)
    exact.set_image(image)  # a cache hit: the same features
    rows = []
    for multimask in (True, False):
        times: dict[str, list[float]] = {"engine, reference path": [], "engine, fast path": []}
        ious = []
        for p in [prompts[0]] + prompts:  # the first call warms up and is not counted
            t_exact, want = _timed(lambda: exact.predict(multimask=multimask, **p))
            t_fast, got = _timed(lambda: fast.predict(multimask=multimask, **p))
            times["engine, reference path"].append(t_exact)
            times["engine, fast path"].append(t_fast)
            ious.extend(_iou(a, b) for a, b in zip(got.masks, want.masks))
        rows += _prompt_rows(times, "engine, reference path", "reference", multimask, ious)
    return rows


def _sam_prompt_rows(fast, image: np.ndarray, prompts: list[dict]) -> list[tuple[str, str, str, str]]:
    """SamPredictor.predict, the engine's exact path and its fast path on each prompt in turn, and the fast path's
    IoU with SamPredictor."""
    from segment_anything import SamPredictor

    from app.sam.engine import SamEngine

    sam = fast.sam
    exact = SamEngine(sam, cache=fast.cache, fast=False)
    exact.set_image(image)
    reference = SamPredictor(sam)  # same embedding: no second encoder run
    reference.features, reference.is_image_set = fast.image_embedding, True
    reference.original_size = image.shape[:2]
    reference.input_size = reference.transform.get_preprocess_shape(*image.shape[:2], sam.image_encoder.img_size)
    rows = []
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
        rows += _prompt_rows(times, "SamPredictor.predict", "SamPredictor", multimask, ious)
    return rows


def run(args) -> int:
    import torch

    from app.models.any_family import check_arch

    try:
        for arch in args.archs:
            check_arch(arch)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
