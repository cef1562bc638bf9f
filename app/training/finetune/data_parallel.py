"""Data-parallel fine-tuning over several processes with torch.distributed: one per GPU (NCCL), or gloo processes
on the CPU (how it is tested).

Rank 0 is the caller's own process: it prepared the data and it validates, reports and saves, as in a one-process
run. The other ranks are started with torch.multiprocessing, each with a copy of the wrapped model as it is at the
start and the prepared data, and run the same loop (`app.training.finetune.loop`). Every step all ranks draw the
same images from one seeded generator and each takes its share; each draws its own prompts; the gradients are
averaged over the ranks (all-reduce) before clipping and the optimiser step, as DistributedDataParallel does, so a
step trains on `processes x images_per_step` images. After each step every rank takes rank 0's weights (one
broadcast): the same averaged gradients give the same update only up to rounding (a clipping norm summed by
another number of threads, a vectorised loop's tail), and such differences would otherwise grow over a run. Cancelling and a
non-finite loss are agreed on by all ranks, so none is left waiting. The cached training path runs the encoder's
halves outside one module's forward, so the gradients are all-reduced by hand rather than by wrapping the model in
DistributedDataParallel; the arithmetic is the same.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from app.training.finetune.events import TrainingCancelled, TrainingError
from app.training.finetune.loop import Prepared, train_loop

TIMEOUT = timedelta(minutes=10)
"""How long a rank waits for the others at one step before the run fails (a rank that died)."""


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA models, gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def rank_device(device: torch.device, rank: int) -> torch.device:
    """Where rank `rank` trains: the rank-th GPU for a CUDA model, the same device otherwise."""
    return torch.device("cuda", rank) if device.type == "cuda" else device


def train_data_parallel(sam: torch.nn.Module, data: list, settings, processes: int, on_step=None, cancel=None,
                        keep_best=None) -> int:
    """`train_loop` on `processes` ranks; this process is rank 0 (its `sam` ends trained, as in `train_loop`),
    the others are started here and joined before returning. Returns the steps done."""
    device = sam.device
    backend = backend_for(device)
    with tempfile.TemporaryDirectory(prefix="mopeft-ranks-") as folder:
        store = Path(folder) / "store"
        others = mp.start_processes(_rank, args=(processes, backend, f"file://{store}", sam, data, settings),
                                    nprocs=processes - 1, join=False, start_method="spawn")
        try:
            _join_group(backend, f"file://{store}", 0, processes, device)
            try:
                steps = train_loop(sam, data, settings, on_step=on_step, cancel=cancel, keep_best=keep_best)
            finally:
                dist.destroy_process_group()
        except BaseException:
            for process in others.processes:
                process.terminate()
            with contextlib.suppress(Exception):
                _join(others)
            raise
        _join(others)   # raises ProcessRaisedException when a rank failed
    return steps


def _join(others) -> None:
    while not others.join():
        pass


def _join_group(backend: str, init_method: str, rank: int, size: int, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=size, timeout=TIMEOUT)


def _rank(index: int, size: int, backend: str, init_method: str, sam, data: list, settings) -> None:
    """A rank above 0: the same loop on its own copy, nothing reported, validated or saved; a cancel or a training
    error ends it quietly (rank 0 tells it)."""

    rank = index + 1
    device = rank_device(sam.device, rank)
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // size))
    sam = sam.to(device)
    data = [Prepared(_to(p.tokens, device), p.targets.to(device)) for p in data]
    _join_group(backend, init_method, rank, size, device)
    try:
        train_loop(sam, data, settings)
    except (TrainingCancelled, TrainingError):
        pass
    finally:
        dist.destroy_process_group()


def _to(value, device: torch.device):
    """A tensor, or a tuple/list of them (SAM 2.1's cached stages), on `device`."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    return type(value)(_to(v, device) for v in value)
