"""The optimisation loop: simulated interactive sessions on cached frozen-block outputs, with safeguards."""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from app.device import autocast, release_cached_memory
from app.mopeft import after_training, before_step, frozen_prefix_length, gate_values, peft_kinds
from app.mopeft.gate import Gate
from app.training.family import training_family
from app.training.finetune.events import PhaseEvent, StepEvent, TrainingCancelled, TrainingError
from app.training.finetune.ranks import Ranks
from app.training.finetune.selection import KeepBest
from app.training.finetune.settings import TrainSettings
from app.training.interactive import InteractiveConfig, interactive_loss
from app.training.schedule import warmup_cosine


@dataclass(frozen=True)
class Prepared:
    """One training image ready for the loop: frozen-block output (or the image itself; the family's `cache`) and
    target masks."""

    tokens: object
    targets: torch.Tensor


def prepare(sam: nn.Module, inputs: list[tuple[torch.Tensor, torch.Tensor]],
            precision: str | None = None) -> list[Prepared]:
    """Run the frozen first blocks once per image (the cached path) at `precision` (see `TrainSettings`); a
    no-op when every block trains."""
    start = frozen_prefix_length(sam)
    family = training_family(sam)
    prepared = []
    with torch.no_grad(), _autocast(sam, precision):
        for image, targets in inputs:
            prepared.append(Prepared(family.cache(sam, image, start), targets))
    return prepared


def _autocast(sam: nn.Module, precision: str | None):
    """The training autocast of `app.device.choose_precision`; the losses are taken in float32 whatever it is."""
    return autocast(sam.device, training=True, precision=precision)


def _embeddings(sam: nn.Module, batch: list[Prepared]):
    return training_family(sam).features(sam, [p.tokens for p in batch], frozen_prefix_length(sam))


def _param_groups(sam: nn.Module, settings: TrainSettings) -> list[dict]:
    """The trainable parameters grouped by learning-rate scale: `settings.kind_lr` by PEFT kind, and its "gate"
    entry, when present, for every gate's parameters."""
    gates = {id(p) for m in sam.modules() if isinstance(m, Gate) for p in m.parameters()}
    kinds = {id(p): module.name for _, module in peft_kinds(sam) for p in module.parameters()}
    groups: dict[float, list[torch.nn.Parameter]] = {}
    for param in sam.parameters():
        if param.requires_grad:
            key = "gate" if id(param) in gates and "gate" in settings.kind_lr else kinds.get(id(param))
            groups.setdefault(settings.kind_lr.get(key, 1.0), []).append(param)
    return [{"params": params, "lr_scale": scale} for scale, params in groups.items()]


def _lr_factor(step: int, steps: int) -> float:
    """Linear warm-up over the first 5 % of steps, then cosine decay to 10 %."""
    return warmup_cosine(step, steps, warmup_steps=max(1, steps // 20), min_ratio=0.1)


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def train_loop(sam: nn.Module, data: list[Prepared], settings: TrainSettings,
               on_step: Callable[[object], None] | None = None,
               cancel: Callable[[], bool] | None = None, keep_best: KeepBest | None = None) -> int:
    """Train the PEFT parameters of a wrapped `sam` for `settings.steps` steps; returns the steps done.

    Repeatable: the data order and prompts come from a generator seeded with `settings.seed`, and the global
    torch RNG (which the adapters' dropout draws from) is seeded with it too for the run and restored after,
    so a run on the same device with the same thread count gives the same weights (docs/user-guide.md).
    Before each step every PEFT kind hears of it (`app.mopeft.before_step`, with the kinds' configs of
    `settings.mopeft`: the adapters' dropout starts there), and `after_training` when the run ends. With
    `keep_best`, the held-out score is taken when it is due (reported as a PhaseEvent) and the best weights are
    put back at the end.

    Raises TrainingCancelled when `cancel()` turns true (checked before every step), and TrainingError on a
    non-finite loss or when even one image per step does not fit in memory. On CUDA out-of-memory the step
    is retried with half the images, then half the objects.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed + Ranks.current().rank)
        return _train_loop(sam, data, settings, on_step, cancel, keep_best)


def _train_loop(sam: nn.Module, data: list[Prepared], settings: TrainSettings, on_step, cancel, keep_best) -> int:
    if not data:
        raise TrainingError("no training images: accept some instances first")
    params = [p for p in sam.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(_param_groups(sam, settings), lr=settings.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(settings.seed)   # the same on every rank: the images they draw
    ranks = Ranks.current()
    prompts = generator if ranks.size == 1 else torch.Generator().manual_seed(settings.seed + 1 + ranks.rank)
    interactive = InteractiveConfig(max_clicks=settings.max_clicks)
    images, objects = min(settings.images_per_step, len(data)), settings.objects_per_image
    sam.train()
    started = time.perf_counter()
    step = 0
    while step < settings.steps:
        if ranks.any(cancel is not None and cancel(), params[0].device):
            raise TrainingCancelled(f"cancelled after {step} of {settings.steps} steps")
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * group["lr_scale"] * _lr_factor(step, settings.steps)
        before_step(sam, settings.mopeft, step, settings.steps)
        pick = torch.randperm(len(data), generator=generator)[:images * ranks.size].tolist()
        batch = [data[i] for i in ranks.share(pick, images)]
        targets = [p.targets[torch.randperm(len(p.targets), generator=prompts)[:objects]] for p in batch]
        try:
            with _autocast(sam, settings.precision):
                result = interactive_loss(sam, _embeddings(sam, batch), targets, interactive, prompts)
            loss = result.loss
            if ranks.any(not bool(torch.isfinite(loss)), loss.device):
                raise TrainingError(f"the loss became {float(loss.detach())} at step {step + 1}"
                                    f"{'' if ranks.size == 1 else ' on one of the training processes'}; "
                                    "training stopped")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            ranks.average_gradients(params)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            ranks.take_first_ranks(params)
        except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:
            if isinstance(exc, TrainingError) or not _is_out_of_memory(exc) or ranks.size > 1:
                raise   # with several ranks the others wait at the next all-reduce: no smaller retry of one
            result = loss = None  # the failed step's graph and (in the frames that raised) tensors go before
            traceback.clear_frames(exc.__traceback__)  # the cache is emptied
            optimizer.zero_grad(set_to_none=True)
            release_cached_memory(sam.device)
            if images > 1:
                images //= 2
            elif objects > 1:
                objects //= 2
            else:
                raise TrainingError("out of GPU memory even with one image and one object per step") from exc
            continue
        step += 1
        if on_step is not None:
            elapsed = time.perf_counter() - started
            on_step(StepEvent(step, settings.steps, float(loss.detach()), optimizer.param_groups[0]["lr"],
                              gate_values(sam), elapsed / step * (settings.steps - step), result.first_iou,
                              result.last_iou, images))
        if keep_best is not None:
            value = keep_best.after_step(sam, step, settings.steps)
            if value is not None and on_step is not None:
                on_step(PhaseEvent(f"step {step}: held-out 1-click mIoU {value:.3f} "
                                   f"(best {keep_best.best_score:.3f} at step {keep_best.best_step})"))
    if keep_best is not None:
        keep_best.restore(sam)
    after_training(sam)
    sam.eval()
    return step
