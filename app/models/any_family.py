"""One loader and one engine choice for both SAM families: SAM 1 (segment_anything's Sam, `SamEngine`) and SAM 2.1
(transformers' Sam2Model, `app.sam2.Sam2Engine`).

The family comes from the registry entry of a name, or from the keys of a file, which is read once. transformers
is imported only when a SAM 2.1 model is loaded, so SAM 1 users do not pay its import time.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from app.mopeft.families import family as model_family
from app.sam.checkpoints import CheckpointError, LoadedSam, read_state_dict, resolve_checkpoint, sam_from_state
from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import SamEngine
from app.sam.variants import ARCHS, build_sam

if TYPE_CHECKING:
    from app.sam2.engine import Sam2Engine

_SAM2_PREFIXES = ("vision_encoder.", "image_encoder.trunk.")  # transformers' layout, Meta's
_SAM1_PREFIX = "image_encoder.blocks."


def state_family(state: dict[str, torch.Tensor]) -> str | None:
    """"sam2" for a SAM 2.1 state dict (transformers' or Meta's layout), "sam" for SAM 1, None for neither."""
    if any(k.startswith(_SAM2_PREFIXES) for k in state):
        return "sam2"
    if any(k.startswith(_SAM1_PREFIX) for k in state):
        return "sam"
    return None


def load_any_sam(source: str | Path, device: str | torch.device | None = None, arch: str | None = None) -> LoadedSam:
    """Load SAM 1 or SAM 2.1 from a registered name ("vit_b", "sam2.1_hiera_t", "demo", ...) or a checkpoint file.

    As `app.sam.checkpoints.load_sam` (the variant from the shapes, `arch` and the registry entry checked against
    it, `device` defaulting to `choose_device()`); the result's `sam` is a Sam2Model for SAM 2.1.
    """
    if arch is not None:
        check_arch(arch)
    path, info = resolve_checkpoint(source)
    state = read_state_dict(path)
    family = info.family if info is not None else state_family(state)
    wanted = (arch, info.arch if info is not None else None)
    if family == "sam2":
        from app.sam2.checkpoints import sam2_from_state

        loaded = sam2_from_state(state, path, wanted, device)
        return LoadedSam(loaded.model, loaded.arch, loaded.path)
    if family is None:
        some = ", ".join(list(state)[:3]) or "nothing"
        raise CheckpointError(f"{path}: neither a SAM 1 nor a SAM 2.1 checkpoint (it holds {some}, ...)")
    return sam_from_state(state, path, wanted, device)


def engine_for(model: nn.Module, cache: EmbeddingCache | None = None,
               precision: str | None = None) -> SamEngine | Sam2Engine:
    """The engine of a model's family (`app.mopeft.families.family`, a wrapped model included): `Sam2Engine` for
    SAM 2.1, else `SamEngine`; `cache` and `precision` as theirs."""
    if model_family(model) == "sam2":
        from app.sam2.engine import Sam2Engine

        return Sam2Engine(model, cache=cache, precision=precision)
    return SamEngine(model, cache=cache, precision=precision)


def build_any_sam(arch: str) -> nn.Module:
    """A SAM 1 or SAM 2.1 architecture by name with random weights, seeded 0 (the same model on every run, so its
    cached embeddings are reused), on the CPU: for benchmarks and tests."""
    check_arch(arch)
    torch.manual_seed(0)
    if arch in ARCHS:
        return build_sam(arch)
    from app.sam2.variants import build_sam2

    return build_sam2(arch)


def check_arch(arch: str) -> None:
    """A ValueError naming the variants of both families unless `arch` is one (SAM 2.1's, and transformers, are
    looked up only for a name that is no SAM 1 variant)."""
    if arch not in ARCHS:
        from app.sam2.variants import SAM2_ARCHS

        if arch not in SAM2_ARCHS:
            raise ValueError(f"unknown SAM variant {arch!r}; known: {', '.join([*ARCHS, *SAM2_ARCHS])}")
