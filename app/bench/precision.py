"""`mopeft bench precision`: float32 against bfloat16, side by side in one run, per architecture.

For each model both precisions are measured on the same image, prompts and training images, interleaved so the
machine's load falls on both alike: the encoder's embedding time, prompt -> mask latency, a fine-tuning step
(MoPEFT on the cached `last:4` path), and how far bf16's masks agree with fp32's (IoU of every candidate mask over
varied prompts: points, negative points, boxes, box plus point). The first lines say whether the CPU has
bfloat16 units; without them bf16 is emulated and slow, and the table shows by how much.
"""
from __future__ import annotations

import time

import numpy as np

from app.bench._models import sam_by_name, start_model_bench
from app.bench._timing import median, time_interleaved
from app.bench.latency import random_prompts, test_image

PRECISIONS = ("fp32", "bf16")


def register(sub) -> None:
    p = sub.add_parser("precision", help="fp32 vs bf16: embedding, prompt latency, fine-tuning step, mask agreement")
    p.add_argument("--archs", nargs="+", default=["vit_b", "demo"],
                   help="models: demo (the shipped weights) or an architecture with random weights (default: vit_b "
                        "demo)")
    p.add_argument("--repeat", type=int, default=3, help="embeddings timed per precision (default 3)")
    p.add_argument("--prompts", type=int, default=20, help="prompts timed and compared (default 20)")
    p.add_argument("--train-steps", type=int, default=3, help="fine-tuning steps timed per precision; 0 skips "
                                                               "(default 3)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(run=run)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _agreement(engines: dict, image: np.ndarray, prompts: list[dict]) -> list[float]:
    """IoU of bf16's masks with fp32's, every candidate of every prompt (each engine on its own embedding)."""
    answers = {}
    for name, engine in engines.items():
        engine.set_image(image)
        answers[name] = [engine.predict(multimask=True, **p).masks for p in prompts]
    return [_iou(a, b) for fp32, bf16 in zip(answers["fp32"], answers["bf16"]) for a, b in zip(fp32, bf16)]


def _step_times(sam, steps: int) -> dict[str, float]:
    """Seconds per fine-tuning step at each precision, on four synthetic cell images."""
    from app.mopeft import MoPEFTConfig
    from app.synth.scenes import eval_images, generate
    from app.training.finetune.examples import model_inputs
    from app.training.finetune.loop import prepare, train_loop
    from app.training.finetune.run import start_model
    from app.training.finetune.settings import TrainSettings

    examples = eval_images(generate("cells", 4, 7, min(sam.image_encoder.img_size, 512)))
    ready = {}
    for precision in PRECISIONS:
        settings = TrainSettings(MoPEFTConfig(blocks="last:4"), steps=steps, precision=precision,
                                 continue_from_active=False)
        model = start_model(sam, settings, None, [])
        ready[precision] = (model, prepare(model, [model_inputs(model, e) for e in examples], precision), settings)
    times = time_interleaved({p: (lambda p=p: train_loop(*ready[p])) for p in PRECISIONS}, repeat=1)
    return {p: median(t) / steps for p, t in times.items()}


def measure(arch: str, args) -> list[tuple[str, str, str, str]]:
    """Rows (measure, fp32, bf16, bf16 / fp32 or note) for one model."""
    from app.sam.engine import SamEngine

    sam, name = sam_by_name(arch)
    image = test_image(1024, 1024) if sam.image_encoder.img_size >= 1024 else test_image(256, 256)
    engines = {p: SamEngine(sam, precision=p) for p in PRECISIONS}
    embed = time_interleaved({p: (lambda e=e: e._encode(image)) for p, e in engines.items()}, args.repeat)
    prompts = random_prompts(args.prompts, *image.shape[:2])
    ious = _agreement(engines, image, prompts)
    latency = time_interleaved({p: (lambda e=e: [e.predict(multimask=True, **q) for q in prompts])
                                for p, e in engines.items()}, repeat=1)
    rows = [(f"**{name}**", "", "", ""),
            ("embedding, s (median)", *(f"{median(embed[p]):.3f}" for p in PRECISIONS),
             f"{median(embed['bf16']) / median(embed['fp32']):.2f}x"),
            ("prompt -> 3 masks, ms (mean)", *(f"{median(latency[p]) / len(prompts) * 1000:.1f}" for p in PRECISIONS),
             f"{median(latency['bf16']) / median(latency['fp32']):.2f}x")]
    if args.train_steps:
        steps = _step_times(sam, args.train_steps)
        rows.append(("fine-tuning step (last:4, 2 images), s", *(f"{steps[p]:.3f}" for p in PRECISIONS),
                     f"{steps['bf16'] / steps['fp32']:.2f}x"))
    share = np.mean(np.asarray(ious) >= 0.99)
    rows.append(("mask IoU bf16 vs fp32 (goal >= 0.99)", "", f"mean {np.mean(ious):.4f}, min {min(ious):.4f}",
                 f"{share:.0%} of {len(ious)} masks >= 0.99"))
    return rows


def run(args) -> int:
    import torch

    from app.device import choose_precision, cpu_bf16_units

    if not start_model_bench(args):
        return 2
    units = cpu_bf16_units()
    print(f"mopeft bench precision --archs {' '.join(args.archs)} (CPU, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")
    print(f"CPU bfloat16 units: {units or 'none: bf16 is emulated here, expect it slower'}; "
          f"auto picks {choose_precision('cpu', 'auto').name}")
    print("| measure | fp32 | bf16 | bf16 / fp32 |")
    print("|---|---|---|---|")
    started = time.perf_counter()
    for arch in args.archs:
        for row in measure(arch, args):
            print("| " + " | ".join(row) + " |", flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0
