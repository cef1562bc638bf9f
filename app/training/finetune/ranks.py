"""This process's place among data-parallel training processes (`app.training.finetune.data_parallel`), and the
collectives the training loop runs through it; with no process group (one process) every one is a no-op."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.utils import parameters_to_vector, vector_to_parameters


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes: `rank` of `size` (0 of 1 without a process group)."""

    rank: int = 0
    size: int = 1

    @classmethod
    def current(cls) -> "Ranks":
        """The ranks of the process group this process is in, 0 of 1 when there is none."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    def share(self, picked: list[int], per_rank: int) -> list[int]:
        """This rank's `per_rank` of the indices all ranks `picked` alike: its own slice, or, when fewer were
        picked than the ranks need, the picks taken round (ranks then share images)."""
        start = self.rank * per_rank
        return [picked[(start + j) % len(picked)] for j in range(per_rank)]

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Replace every gradient by its mean over the ranks (one all-reduce of all of them, flattened)."""
        if self.size == 1:
            return
        flat = parameters_to_vector([p.grad if p.grad is not None else torch.zeros_like(p) for p in params])
        dist.all_reduce(flat)
        flat /= self.size
        for param, grad in zip(params, torch.split(flat, [p.numel() for p in params])):
            param.grad = grad.view_as(param)

    def take_first_ranks(self, params: list[torch.nn.Parameter]) -> None:
        """Give every rank rank 0's values of `params` (one broadcast of all of them, flattened)."""
        if self.size == 1:
            return
        with torch.no_grad():
            flat = parameters_to_vector(params)
            dist.broadcast(flat, src=0)
            vector_to_parameters(flat, params)

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when `flag` is true on at least one."""
        if self.size == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())
