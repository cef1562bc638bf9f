"""`mopeft bench gpu --out DIR`: the device check on one CUDA GPU, against the goals for an H100/H200-class card.

With random weights (speed does not depend on them) it measures the image encoder's embedding time, prompt -> mask
latency through SamEngine, a whole fine-tuning run (`fine_tune`, validation and saving included) on 20 accepted
instances of synthetic scenes (wall time, peak GPU memory), and `mopeft embed` on a folder of synthetic images;
then writes one markdown table (gpu.md) and the same figures as JSON (gpu.json) into DIR. `.ci/gpu-check` runs
it from a bare GPU machine, after the tests marked `gpu`. `mopeft embed` embeds one image at a time, so its rate
is the encoder's plus loading, resizing and writing each embedding to the cache.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

INSTANCES = 20
"""Accepted instances of the fine-tuning run: 4 per synthetic `cells` scene."""


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured value; `goal` is the most it may be (None: no goal, only reported)."""

    measure: str
    value: float
    unit: str
    goal: float | None = None

    @property
    def met(self) -> bool | None:
        """Whether the value is within its goal (None without a goal)."""
        return None if self.goal is None else bool(self.value <= self.goal)


def register(sub) -> None:
    p = sub.add_parser("gpu", help="the device check on one CUDA GPU: embedding time, prompt latency, a "
                                   "20-instance fine-tuning run and `mopeft embed`, against the goals")
    p.add_argument("--out", type=Path, required=True, help="folder for gpu.md and gpu.json (made when missing)")
    p.add_argument("--arch", default="vit_b", help="SAM architecture, random weights (default vit_b, which the "
                                                   "goals are for)")
    p.add_argument("--embed-images", type=int, default=64, help="images in the `mopeft embed` folder (default 64)")
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from app.sam.variants import ARCHS

    if args.arch not in ARCHS:
        print(f"error: unknown architecture {args.arch!r}; known: {', '.join(ARCHS)}", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        why = "was built without CUDA" if torch.version.cuda is None else "sees no CUDA GPU"
        print(f"error: mopeft bench gpu needs a CUDA GPU, and torch {torch.__version__} {why}; nothing was measured",
              file=sys.stderr)
        return 2
    device = torch.device("cuda")
    torch.manual_seed(0)
    figures = measure_engine(args.arch, device) + measure_fine_tuning(args.arch, device)
    figures += measure_embed_command(args.arch, device, args.embed_images)
    about = {"command": f"mopeft bench gpu --arch {args.arch} --embed-images {args.embed_images}",
             "gpu": torch.cuda.get_device_name(device), "torch": torch.__version__, "cuda": torch.version.cuda,
             "arch": f"{args.arch} (random weights)", "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    markdown, _ = write_report(args.out, figures, about)
    print(markdown.read_text(), end="")
    return 0


def _cuda_seconds(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Seconds per call of `fn`, each timed up to the end of the GPU work it queued, after `warmup` calls."""
    import torch

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def measure_engine(arch: str, device) -> list[Figure]:
    """Embedding time (the encoder alone, and SamEngine's cache miss) and prompt -> mask latency."""
    import torch

    from app.bench.latency import random_prompts, test_image
    from app.device import autocast
    from app.sam.embedding_cache import EmbeddingCache
    from app.sam.engine import SamEngine
    from app.sam.variants import build_sam

    engine = SamEngine(build_sam(arch), device=device)
    image = test_image(1024, 1024)
    x = torch.as_tensor(engine.transform.apply_image(image), device=device).permute(2, 0, 1).contiguous()[None]
    x = engine.sam.preprocess(x)

    def encode():
        with torch.no_grad(), autocast(device):
            engine.sam.image_encoder(x)

    torch.cuda.reset_peak_memory_stats()
    encoder = _cuda_seconds(encode, repeat=20, warmup=3)
    peak = torch.cuda.max_memory_allocated() / 1e9

    def miss():
        engine.cache = EmbeddingCache(disk=False)
        engine.set_image(image)

    set_image = _cuda_seconds(miss, repeat=5)
    engine.set_image(image)
    prompts = random_prompts(50, *image.shape[:2])

    def latencies(multimask: bool) -> list[float]:
        times = [_cuda_seconds(lambda: engine.predict(multimask=multimask, **p), repeat=1, warmup=0)[0]
                 for p in prompts[:5] + prompts]
        return times[5:]  # the first five warm up

    latency = {multimask: latencies(multimask) for multimask in (True, False)}
    ms = 1000
    side = engine.sam.image_encoder.img_size
    return [Figure(f"embedding: {arch} image encoder, {side}x{side} input, {engine.precision} (median of 20)",
                   np.median(encoder) * ms, "ms", 30.0),
            Figure("embedding: peak GPU memory", peak, "GB"),
            Figure("embedding: SamEngine.set_image, cache miss (median of 5)", np.median(set_image) * ms, "ms"),
            Figure("prompt -> 3 masks (SamEngine.predict), p50 of 50", np.percentile(latency[True], 50) * ms, "ms"),
            Figure("prompt -> 3 masks, p95 of 50", np.percentile(latency[True], 95) * ms, "ms"),
            Figure("prompt -> 1 mask, p50 of 50", np.percentile(latency[False], 50) * ms, "ms")]


def fine_tuning_examples(instances: int = INSTANCES, side: int = 1024) -> list:
    """EvalImages of synthetic `cells` scenes holding `instances` accepted instances, 4 per scene."""
    from app.synth.scenes import eval_images, make_scene

    scenes, left, index = [], instances, 0
    while left > 0:
        scene = make_scene("cells", 0, index, side)
        keep = min(4, left, len(scene.masks))
        if keep:
            scenes.append(dataclasses.replace(scene, masks=scene.masks[:keep]))
        left, index = left - keep, index + 1
    return eval_images(scenes)


def measure_fine_tuning(arch: str, device, settings=None) -> list[Figure]:
    """One whole fine-tuning run, with the default settings (as the window starts it) unless `settings` are
    given: wall time and peak memory."""
    import torch

    from app.sam.variants import build_sam
    from app.training.finetune.events import StepEvent
    from app.training.finetune.run import fine_tune
    from app.training.finetune.settings import TrainSettings

    base = build_sam(arch).to(device)
    examples = fine_tuning_examples(side=base.image_encoder.img_size)
    settings = settings or TrainSettings()
    step_ends: list[float] = []

    def on_event(event) -> None:
        if isinstance(event, StepEvent):
            step_ends.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as folder:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        outcome = fine_tune(base, examples, settings, Path(folder), on_event=on_event)
        torch.cuda.synchronize()
        wall = time.perf_counter() - start
    gb = 1e9
    what = (f"{INSTANCES} instances, {outcome.train_images} training + {outcome.validation_images} validation images, "
            f"{outcome.steps} steps, blocks {settings.mopeft.blocks}")
    return [Figure(f"fine-tuning run ({what}): wall time", wall, "s", 60.0),
            Figure("fine-tuning: median time per training step", float(np.median(np.diff(step_ends))), "s"),
            Figure("fine-tuning: peak GPU memory allocated (base model included)",
                   torch.cuda.max_memory_allocated() / gb, "GB", 8.0),
            Figure("fine-tuning: peak GPU memory reserved by the allocator",
                   torch.cuda.max_memory_reserved() / gb, "GB"),
            Figure("after the run: GPU memory allocated (the base model)", torch.cuda.memory_allocated() / gb, "GB"),
            Figure("after the run: GPU memory reserved (cache given back)", torch.cuda.memory_reserved() / gb, "GB")]


def _write_images(folder: Path, count: int) -> None:
    """`count` different 1024x1024 PNG images (one synthetic picture, shifted), so that none is a cache hit."""
    import cv2

    from app.bench.latency import test_image

    image = test_image(1024, 1024)
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"image{i:03d}.png"), np.roll(image, 7 * i, axis=1))


def measure_embed_command(arch: str, device, count: int, small: int = 4) -> list[Figure]:
    """`mopeft embed`, run as a command of its own, on a folder of `count` images: the whole command, and the images
    per second beyond its fixed costs (start, imports, model build), from the difference to a folder of `small`."""

    def command(folder: Path, cache: Path) -> float:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "app.cli.main", "embed", str(folder), "--model", arch,
                               "--random-weights", "--cache-dir", str(cache), "--device", device.type],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mopeft embed failed (exit status {done.returncode}): {done.stderr[-2000:]}")
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_images(root / "small", small)
        _write_images(root / "large", count)
        command(root / "small", root / "cache-warm-up")  # the first run reads the program's files from disk
        few = command(root / "small", root / "cache-small")
        many = command(root / "large", root / "cache-large")
    return [Figure(f"mopeft embed, {count} images 1024x1024: the whole command (start and model build included)",
                   many, "s"),
            Figure("mopeft embed: images / s beyond the fixed costs", (count - small) / (many - few), "images/s")]


def _format(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def write_report(out: Path, figures: list[Figure], about: dict[str, str]) -> tuple[Path, Path]:
    """Write gpu.md (what ran where, then one table: measure, value, goal, met?) and gpu.json (`about` and the
    figures) into `out`, made when missing; returns both paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["; ".join(f"{key}: {value}" for key, value in about.items()), "",
             "| measure | value | goal | met? |", "|---|---|---|---|"]
    for f in figures:
        goal = "" if f.goal is None else f"<= {_format(f.goal)} {f.unit}"
        met = {None: "", True: "yes", False: "**no**"}[f.met]
        lines.append(f"| {f.measure} | {_format(f.value)} {f.unit} | {goal} | {met} |")
    markdown, data = out / "gpu.md", out / "gpu.json"
    markdown.write_text("\n".join(lines) + "\n")
    rows = [{**dataclasses.asdict(f), "met": f.met} for f in figures]
    data.write_text(json.dumps({"about": about, "figures": rows}, indent=1) + "\n")
    return markdown, data
