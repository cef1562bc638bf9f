"""The runs of `mopeft bench adapt`: zero-shot, then every configuration and seed, trained and scored alike."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from app.metrics.dataset import EvalImage, load_coco_dataset
from app.metrics.evaluate import evaluate_sam
from app.mopeft import gate_values, trainable_parameters
from app.training.family import training_family
from app.training.finetune.examples import model_inputs
from app.training.finetune.run import adapt, start_model
from app.training.finetune.selection import KeepBest, one_click_score
from app.training.finetune.settings import TrainSettings, parse_blocks, presets


@dataclass(frozen=True)
class DatasetPair:
    """A dataset's training images (loaded) and its test set (loaded an image at a time)."""

    name: str
    train: list[EvalImage]
    test: Sequence[EvalImage]

    @classmethod
    def load(cls, name: str, train_file: str, test_file: str) -> "DatasetPair":
        """Read both COCO files (CocoError on a bad one); the training images are decoded now."""
        train = load_coco_dataset(train_file)
        test = load_coco_dataset(test_file)
        if len(train) == 0 or len(test) == 0:
            raise ValueError(f"{name}: {train_file if len(train) == 0 else test_file} holds no instance to use")
        return cls(name, [train[i] for i in range(len(train))], test)


@torch.no_grad()
def mean_gates(sam: nn.Module, images: Sequence[EvalImage]) -> dict[str, dict[str, float]]:
    """Mean gate of every block and kind over `images` (one encoder pass each, SAM 1 or SAM 2.1):
    {block: {kind: mean}}."""
    sums: dict[str, dict[str, float]] = {}
    was_training = sam.training
    sam.eval()
    family = training_family(sam)
    for index in range(len(images)):
        image, _ = model_inputs(sam, images[index])
        family.features(sam, [family.cache(sam, image, 0)], 0)
        for block, kinds in gate_values(sam).items():
            for kind, value in kinds.items():
                sums.setdefault(block, {}).setdefault(kind, 0.0)
                sums[block][kind] += value
    sam.train(was_training)
    return {block: {kind: total / len(images) for kind, total in kinds.items()} for block, kinds in sums.items()}


def split_held_out(images: list[EvalImage], count: int) -> tuple[list[EvalImage], list[EvalImage]]:
    """The training images and the last `count` of them held out to choose the kept weights (none when 0)."""
    return (images[:-count], images[-count:]) if count else (images, [])


def mean_std(values: list[float]) -> dict:
    """{"mean", "std", "runs"} of a list of run results (std 0 for a single run)."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "runs": values}


def train_settings(args, config: str, seed: int) -> TrainSettings:
    """The settings of one benchmark run: a fresh adapter of `config` (a `presets()` name) with the command's
    steps, blocks, learning rate (the trainer's when not given), kind scales and adapter dropout."""
    extra = {"lr": args.lr} if args.lr else {}
    return TrainSettings.from_dict({
        "kinds": presets()[config], "blocks": parse_blocks(args.blocks), "adapter_dropout": args.adapter_dropout,
        "steps": args.steps, "seed": seed, "continue_from_active": False, "kind_lr": dict(args.kind_lr), **extra})


def run_config(base: nn.Module, pair: DatasetPair, config: str, args, log: Callable[[str], None]) -> dict:
    """All seeds of one configuration on one dataset: metrics (mean, std, runs), parameters, time, gates."""
    runs = []
    train, held_out = split_held_out(pair.train, args.holdout)
    for seed in range(args.seeds):
        settings = train_settings(args, config, seed)
        keep_best = KeepBest(one_click_score(held_out), args.select_every) if held_out else None
        started = time.perf_counter()
        sam = start_model(base, settings, None, [])
        adapt(sam, train, settings, keep_best=keep_best)
        seconds = time.perf_counter() - started
        metrics = evaluate_sam(sam, pair.test, args.max_clicks).summary()
        runs.append({"seed": seed, "seconds": seconds, **metrics, "gates": mean_gates(sam, pair.test),
                     "trainable": trainable_parameters(sam).trainable,
                     "kept_step": keep_best.best_step if keep_best else args.steps})
        log(f"[adapt] {pair.name} {config} seed {seed}: 1-click mIoU {metrics['miou_1click']:.3f}, "
            f"NoC@85 {metrics['noc85']:.2f}, trained in {seconds:.0f} s")
    gates = {block: {kind: sum(r["gates"][block][kind] for r in runs) / len(runs) for kind in kinds}
             for block, kinds in runs[0]["gates"].items()}
    return {"miou_1click": mean_std([r["miou_1click"] for r in runs]), "noc85": mean_std([r["noc85"] for r in runs]),
            "seconds": mean_std([r["seconds"] for r in runs]), "trainable": runs[0]["trainable"], "gates": gates,
            "runs": [{k: v for k, v in r.items() if k != "gates"} for r in runs]}


def run_benchmark(base: nn.Module, pairs: list[DatasetPair], configs: list[str], args,
                  log: Callable[[str], None]) -> dict:
    """Every dataset: zero-shot scores, then each configuration's runs; {dataset name: results}."""
    results = {}
    for pair in pairs:
        zero = evaluate_sam(base, pair.test, args.max_clicks).summary()
        log(f"[adapt] {pair.name} zero-shot: 1-click mIoU {zero['miou_1click']:.3f}, NoC@85 {zero['noc85']:.2f} "
            f"({zero['instances']} test instances, {len(pair.train)} training images)")
        entry = {"train_images": len(pair.train), "zero_shot": zero,
                 "configs": {config: run_config(base, pair, config, args, log) for config in configs}}
        if "mopeft" in entry["configs"]:
            entry["gates"] = entry["configs"]["mopeft"]["gates"]
        results[pair.name] = entry
    return results
