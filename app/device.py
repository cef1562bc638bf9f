"""Pick the compute device (CUDA, then Apple MPS, else CPU) and the precision to run at on it, and say why."""
from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

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


PRECISIONS = ("auto", "fp32", "bf16")
"""What a user may ask for: the best the device does well (auto), float32, or bfloat16 autocast."""

CPU_AUTO_BF16 = False
"""Whether auto picks bfloat16 on a CPU with bfloat16 units. Not yet: its speed is unmeasured (the CPU of the
measurement had no such units), and its masks agreed with float32's on vit_b (every mask IoU >= 0.99) but not on
the demo model (mean 0.987; `mopeft bench precision`, docs/benchmarks.md)."""

PRECISION_ENV = "MOPEFT_PRECISION"
"""Environment variable naming the precision when none is given (the tests set fp32, so they compare exactly)."""


@dataclass(frozen=True)
class PrecisionChoice:
    """The autocast dtype (None: float32), its short name ("fp32", "bf16", "fp16") and a one-line reason."""

    dtype: torch.dtype | None
    reason: str

    def autocast(self, device: torch.device | str):
        """A context that autocasts to this dtype on `device`, or does nothing for float32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=self.dtype)

    @property
    def name(self) -> str:
        """"fp32", "bf16" or "fp16": part of the embedding cache key."""
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


@functools.cache
def cpu_bf16_units() -> str | None:
    """The CPU's bfloat16 matrix instructions ("AMX" or "AVX512-BF16") when /proc/cpuinfo lists them, else None
    (also where there is no /proc/cpuinfo: a CPU without them runs bfloat16 emulated, many times slower). Read once
    per process: `choose_precision` runs at every training step."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return None
    return "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else None


def check_precision(precision: str | None) -> str | None:
    """`precision` itself when it is None or one of PRECISIONS; ValueError naming it otherwise."""
    if precision not in (None, *PRECISIONS):
        raise ValueError(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}")
    return precision


def choose_precision(device: torch.device | str, precision: str | None = None,
                     training: bool = False) -> PrecisionChoice:
    """The precision to run on `device`: `precision` is "auto", "fp32" or "bf16" (None: $MOPEFT_PRECISION, else
    auto); the one rule of the engine and of every training run.

    auto: on CUDA bfloat16 where the GPU supports it, else float16 for inference and float32 for training (float16
    training would need loss scaling); on the CPU float32 (bfloat16 on one with bfloat16 units once
    `CPU_AUTO_BF16` says so); float32 on other devices. bf16 where the device cannot run it raises ValueError.
    """
    precision = check_precision(precision or os.environ.get(PRECISION_ENV) or "auto")
    kind = torch.device(device).type
    if precision == "fp32":
        return PrecisionChoice(None, "float32, as asked")
    if kind == "cuda":
        if torch.cuda.is_bf16_supported():
            return PrecisionChoice(torch.bfloat16, "bfloat16 autocast: this GPU supports it")
        if precision == "bf16":
            raise ValueError("bf16 was asked for, but this GPU does not support bfloat16")
        if training:
            return PrecisionChoice(None, "float32: this GPU has no bfloat16, and float16 training needs loss scaling")
        return PrecisionChoice(torch.float16, "float16 autocast: this GPU has no bfloat16")
    if kind == "cpu":
        units = cpu_bf16_units()
        if precision == "bf16":
            how = f"the CPU has {units}" if units else "asked for; this CPU has no bfloat16 units, so it is emulated (slow)"
            return PrecisionChoice(torch.bfloat16, f"bfloat16 autocast: {how}")
        if units and CPU_AUTO_BF16:
            return PrecisionChoice(torch.bfloat16, f"bfloat16 autocast: the CPU has {units}")
        if units:
            return PrecisionChoice(None, f"float32: the CPU has {units}, but bf16 masks do not yet agree closely "
                                         "enough with float32 to be the default (--precision bf16 uses it)")
        return PrecisionChoice(None, "float32: this CPU has no bfloat16 units (AMX, AVX512-BF16)")
    if precision == "bf16":
        raise ValueError(f"bf16 is supported on CUDA and on the CPU, not on {kind}")
    return PrecisionChoice(None, f"float32 on {kind}")


def autocast(device: torch.device, training: bool = False, precision: str | None = None):
    """A context that autocasts to `choose_precision(device, precision, training)`, or does nothing for float32."""
    return choose_precision(device, precision, training).autocast(device)


def release_cached_memory(device: torch.device) -> None:
    """Give the memory that `device`'s allocator keeps cached, but no tensor uses, back to the driver (CUDA, MPS),
    so that other programs, and a later run's peak, find it free. Nothing to do on CPU."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.empty_cache()
    elif kind == "mps":
        torch.mps.empty_cache()
