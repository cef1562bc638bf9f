"""Loading SAM 2.1: Meta's `.pt` checkpoints (converted on the fly) or a state dict in transformers' layout.

As for SAM 1 (`app.sam.checkpoints`), the file name is never trusted: the variant is read from the tensor shapes,
the file is read with torch's weights-only loader, and every tensor's shape, dtype and finiteness is checked
against the variant before the model (built on the meta device, so no random weights are made) takes them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import Sam2Model

from app.sam.checkpoints import (CHECKPOINTS, CheckpointError, check_state_dict, check_wanted, moved, read_state_dict,
                                 resolve_checkpoint)
from app.sam2.convert import convert_official, is_official_layout
from app.sam2.variants import SAM2_ARCHS, build_sam2

_PATCH = "vision_encoder.backbone.patch_embed.projection.weight"
_NECK = "vision_encoder.neck.convs.0.weight"


@dataclass
class LoadedSam2:
    """A SAM 2.1 model with its weights loaded, the variant found in the file, and the file it came from."""

    model: Sam2Model
    arch: str
    path: Path


def detect_sam2_arch(state_dict: dict[str, torch.Tensor], source: str = "state dict") -> str:
    """Name of the `SAM2_ARCHS` variant whose shapes a state dict (transformers' layout) has.

    Reads the first stage's width from the patch embedding, the depth from the number of Hiera blocks and the
    prompt width from the neck; `source` names the state dict in errors.
    """
    missing = [k for k in (_PATCH, _NECK) if k not in state_dict]
    if missing:
        some = ", ".join(list(state_dict)[:3]) or "nothing"
        raise CheckpointError(f"{source}: not a SAM 2.1 checkpoint: it has no {missing[0]} (it holds {some}, ...)")
    found = {
        "width": state_dict[_PATCH].shape[0],
        "depth": len({k.split(".")[3] for k in state_dict if k.startswith("vision_encoder.backbone.blocks.")}),
        "prompt_dim": state_dict[_NECK].shape[0],
    }
    for name, arch in SAM2_ARCHS.items():
        if (arch.dims[0], arch.depth, arch.prompt_dim) == tuple(found.values()):
            return name
    shape = ", ".join(f"{field} {value}" for field, value in found.items())
    raise CheckpointError(f"{source}: SAM 2.1 weights of an unknown size ({shape}); "
                          f"known variants: {', '.join(SAM2_ARCHS)}")


def load_sam2(source: str | Path, device: str | torch.device | None = None, arch: str | None = None) -> LoadedSam2:
    """Load SAM 2.1 from a registered name ("sam2.1_hiera_t", ...) or a checkpoint file path.

    Meta's files (`{"model": ...}` with the video model's keys) are converted to transformers' layout; a bare state
    dict in that layout loads as it is. The variant comes from the shapes; `arch` (or the registry entry) is checked
    against it. `device` defaults to `choose_device()`.
    """
    if arch is not None and arch not in SAM2_ARCHS:
        raise ValueError(f"unknown SAM 2.1 variant {arch!r}; known: {', '.join(SAM2_ARCHS)}")
    registered = CHECKPOINTS.get(str(source))
    if registered is not None and registered.family != "sam2":
        raise CheckpointError(f"{source}: a SAM 1 model; load it with app.sam.load_sam")
    path, info = resolve_checkpoint(source)
    return sam2_from_state(read_state_dict(path), path, (arch, info.arch if info else None), device)


def sam2_from_state(state: dict[str, torch.Tensor], path: Path, wanted: tuple[str | None, ...] = (),
                    device: str | torch.device | None = None) -> LoadedSam2:
    """SAM 2.1 from the state dict `read_state_dict` read from `path` (Meta's layout converted): its variant found
    from the shapes (each name in `wanted` that is not None must be it), checked, loaded and moved to `device`
    (None: `choose_device()`)."""
    if is_official_layout(state):
        state = convert_official(state)
    found = detect_sam2_arch(state, str(path))
    check_wanted(found, wanted, path)
    with torch.device("meta"):
        model = build_sam2(found)
    check_state_dict(state, model.state_dict(), path, found)
    model.load_state_dict(state, strict=True, assign=True)
    return LoadedSam2(moved(model, device, path, f"SAM 2.1 {found}"), found, path)
