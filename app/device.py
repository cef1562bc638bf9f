"""Pick the compute device: CUDA, then Apple MPS, else CPU, and say why."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceChoice:
    """The chosen torch device and a one-line human reason for the choice."""

    device: torch.device
    reason: str


def choose_device(preferred: str | None = None) -> DeviceChoice:
    """Return the device to run on. `preferred` ("cuda", "mps", "cpu") overrides the automatic order.

    An unavailable preferred device raises ValueError naming what is missing.
    """
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if preferred:
        ok = {"cuda": cuda_ok, "mps": mps_ok, "cpu": True}.get(preferred)
        if ok is None:
            raise ValueError(f"unknown device {preferred!r}: use cuda, mps or cpu")
        if not ok:
            raise ValueError(f"device {preferred!r} was asked for but is not available in this torch build")
        return DeviceChoice(torch.device(preferred), f"{preferred} asked for explicitly")
    if cuda_ok:
        name = torch.cuda.get_device_name(0)
        return DeviceChoice(torch.device("cuda"), f"CUDA is available ({name})")
    if mps_ok:
        return DeviceChoice(torch.device("mps"), "Apple MPS is available (no CUDA)")
    if torch.version.cuda is None:
        why = "this torch build has no CUDA support"
    else:
        why = f"torch was built with CUDA {torch.version.cuda} but no CUDA GPU is visible"
    return DeviceChoice(torch.device("cpu"), f"CPU: {why}, and Apple MPS is not available")


def autocast_dtype(device: torch.device, training: bool = False, bf16: bool = False) -> torch.dtype | None:
    """Reduced precision to autocast to on `device`, None for float32: the one rule of the engine and of every
    training run.

    CUDA: bfloat16 where the GPU supports it; older GPUs get float16 for inference and float32 for training
    (float16 training would need loss scaling). Other devices: float32, or bfloat16 when `bf16` asks for it.
    """
    if torch.device(device).type != "cuda":
        return torch.bfloat16 if bf16 else None
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None if training else torch.float16


def autocast(device: torch.device, training: bool = False, bf16: bool = False):
    """A context that autocasts to `autocast_dtype(device, training, bf16)`, or does nothing for float32."""
    dtype = autocast_dtype(device, training, bf16)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def release_cached_memory(device: torch.device) -> None:
    """Give the memory that `device`'s allocator keeps cached, but no tensor uses, back to the driver (CUDA, MPS),
    so that other programs, and a later run's peak, find it free. Nothing to do on CPU."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.empty_cache()
    elif kind == "mps":
        torch.mps.empty_cache()
