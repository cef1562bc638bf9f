"""`mopeft bench train`: the trainer's steps per second, full path vs the cached last:N path, side by side."""
from __future__ import annotations

import time
from pathlib import Path

import torch

from app.bench._timing import median


def register(sub) -> None:
    p = sub.add_parser("train", help="trainer steps per second: MoPEFT on all blocks vs the cached last:N path")
    p.add_argument("--model", default="demo", help="SAM to train: demo (default), vit_b, sam2.1_hiera_t, ... or a "
                                                   "SAM 1 checkpoint file; a name whose file is missing runs on random "
                                                   "weights")
    p.add_argument("--images", type=int, default=6, help="synthetic `cells` training images (default 6)")
    p.add_argument("--steps", type=int, default=5, help="steps per timed round (default 5)")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds per path, interleaved (default 3)")
    p.add_argument("--cached-blocks", type=int, default=4, help="N of the last:N cached path (default 4)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, else CPU")
    p.set_defaults(run=run)


def _model(name: str, device: torch.device):
    from app.bench._models import sam_by_name
    from app.sam.checkpoints import load_sam

    if Path(name).is_file():
        return load_sam(name, device=device).sam, name
    model, label = sam_by_name(name)
    return model.to(device), label


def run(args) -> int:
    from app.device import choose_device
    from app.synth.scenes import eval_images, generate
    from app.training.family import training_family
    from app.training.finetune.examples import model_inputs
    from app.training.finetune.loop import prepare, train_loop
    from app.training.finetune.run import start_model
    from app.mopeft import MoPEFTConfig
    from app.training.finetune.settings import TrainSettings

    device = choose_device(args.device).device
    base, name = _model(args.model, device)
    side = training_family(base).input_side(base)
    examples = eval_images(generate("cells", args.images, 7, min(side, 512)))
    paths = {"full": "all", "cached": f"last:{args.cached_blocks}"}
    ready = {}
    for path, blocks in paths.items():
        settings = TrainSettings(MoPEFTConfig(blocks=blocks), steps=args.steps, continue_from_active=False)
        sam = start_model(base, settings, None, [])
        started = time.perf_counter()
        data = prepare(sam, [model_inputs(sam, e) for e in examples])
        ready[path] = (sam, data, settings, time.perf_counter() - started)
        train_loop(sam, data, TrainSettings(MoPEFTConfig(blocks=blocks), steps=1))  # warm-up
    times: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(args.repeat):
        for path, (sam, data, settings, _) in ready.items():
            started = time.perf_counter()
            train_loop(sam, data, settings)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[path].append((time.perf_counter() - started) / args.steps)
    print(f"mopeft bench train --model {args.model} ({name} on {device.type}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {args.images} images, median of {args.repeat} x {args.steps} steps)")
    print("| path | blocks with PEFT | caching the frozen blocks (once) | s / step | steps / s |")
    print("|---|---|---|---|---|")
    for path, blocks in paths.items():
        step = median(times[path])
        print(f"| {path} | {blocks} | {ready[path][3]:.2f} s | {step:.3f} | {1 / step:.2f} |")
    print(f"| speed-up cached vs full | | | | {median(times['full']) / median(times['cached']):.2f}x |")
    return 0
