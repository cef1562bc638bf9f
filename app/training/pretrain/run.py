"""Pretraining a SAM from scratch on synthetic `shapes` scenes with SAM's interactive recipe.

Each step draws fresh scenes (scene index = step x images_per_step + i of the training seed),
embeds them, simulates a session per object (`app.training.interactive`) and takes an AdamW step
with linear warm-up and cosine decay. Everything random comes from `PretrainConfig.seed`, so one
command and a seed give the same weights on the same machine and thread count.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from segment_anything.modeling import Sam

from app.atomic_file import atomic_output
from app.device import autocast
from app.training.pretrain.batches import scene_batch
from app.sam.variants import build_sam
from app.metrics.evaluate import evaluate_sam
from app.synth.scenes import eval_images, generate, make_scene
from app.training.interactive import InteractiveConfig, interactive_loss
from app.training.schedule import warmup_cosine

VALIDATION_SEED = 1000
"""Seed of the held-out validation scenes; training refuses to use it."""


@dataclass(frozen=True)
class PretrainConfig:
    """Everything that decides a pretraining run's result."""

    arch: str = "demo"
    seed: int = 0
    steps: int = 4000
    images_per_step: int = 8
    objects_per_image: int = 8
    lr: float = 2e-3
    weight_decay: float = 0.1
    warmup_steps: int = 150
    min_lr_ratio: float = 0.02
    grad_clip: float = 1.0
    precision: str | None = None  # autocast: auto, fp32 or bf16 (None: $MOPEFT_PRECISION, else auto; `app.device`)
    interactive: InteractiveConfig = field(default_factory=lambda: InteractiveConfig(loss_side=128, iou_weight=4.0))
    validation_scenes: int = 64
    validate_every: int = 250


@dataclass
class PretrainResult:
    """What a run did: steps taken (fewer than asked when the time ran out), wall time, validation mIoU."""

    steps: int
    seconds: float
    validation_miou: float
    history: list[dict]


def learning_rate_factor(step: int, config: PretrainConfig) -> float:
    """Multiplier of the base learning rate at `step`: linear warm-up, then cosine decay to min_lr_ratio."""
    return warmup_cosine(step, config.steps, config.warmup_steps, config.min_lr_ratio)


def _optimizer(sam: Sam, config: PretrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (no decay on biases, norms and embeddings tables)."""
    decay = [p for n, p in sam.named_parameters() if p.ndim >= 2 and "pos" not in n]
    rest = [p for n, p in sam.named_parameters() if not (p.ndim >= 2 and "pos" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=config.lr)


def validation_miou(sam: Sam, count: int, seed: int = VALIDATION_SEED, domain: str = "shapes") -> float:
    """One-click mIoU (mean over objects) of `sam` on `count` scenes of `domain` drawn from `seed`, measured as
    `mopeft eval` does (`app.metrics`)."""
    scenes = generate(domain, count, seed, sam.image_encoder.img_size)
    return evaluate_sam(sam, eval_images(scenes), max_clicks=1).summary()["miou_1click"]


def pretrain(config: PretrainConfig, device: str | torch.device = "cpu", minutes: float | None = None,
             log: Callable[[str], None] = print, stop_after: int | None = None) -> tuple[Sam, PretrainResult]:
    """Train `config.arch` from random weights; returns the model (eval mode) and what happened.

    `minutes` stops the run early (after the step that crosses it) and validates what it has; `stop_after` stops
    it after that step, the schedule unchanged (how a run that `minutes` cut is made again, step for step);
    `log` receives one line per 25 steps and per validation.
    """
    if config.seed == VALIDATION_SEED:
        raise ValueError(f"seed {VALIDATION_SEED} is the validation seed; pick another training seed")
    device = torch.device(device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    sam = build_sam(config.arch).to(device).train()
    size = sam.image_encoder.img_size
    optimizer = _optimizer(sam, config)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate_factor(s, config))
    history: list[dict] = []
    start = time.monotonic()
    step = 0
    while step < config.steps:
        first = step * config.images_per_step
        scenes = [make_scene("shapes", config.seed, first + i, size) for i in range(config.images_per_step)]
        images, targets = scene_batch(scenes, config.objects_per_image, generator, device)
        with autocast(device, training=True, precision=config.precision):
            embeddings = sam.image_encoder(sam.preprocess(images))
            out = interactive_loss(sam, embeddings, targets, config.interactive, generator)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(sam.parameters(), config.grad_clip)
        optimizer.step()
        schedule.step()
        step += 1
        elapsed = time.monotonic() - start
        out_of_time = (minutes is not None and elapsed > 60 * minutes) or (stop_after is not None
                                                                            and step >= stop_after)
        if step % 25 == 0 or step == config.steps or out_of_time:
            record = {"step": step, "seconds": round(elapsed, 1), "loss": float(out.loss.detach()),
                      "mask_loss": out.mask_loss, "iou_mse": out.iou_mse, "first_iou": out.first_iou,
                      "last_iou": out.last_iou, "lr": schedule.get_last_lr()[0]}
            if step % config.validate_every == 0 or step == config.steps or out_of_time:
                record["validation_miou"] = validation_miou(sam, config.validation_scenes)
            history.append(record)
            log(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
        if out_of_time:
            break
    seconds = time.monotonic() - start
    return sam.eval(), PretrainResult(step, seconds, history[-1]["validation_miou"], history)


def save_state_dict(sam: Sam, path: str | Path) -> Path:
    """Write the model as a plain float32 segment_anything state dict (what `load_sam` reads), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in sam.state_dict().items()}
    with atomic_output(path, "wb") as f:
        torch.save(state, f)
    return path


def config_summary(config: PretrainConfig) -> dict:
    """The config as plain JSON-ready values (for logs and the model card)."""
    return asdict(config)
