"""glibc malloc settings for big tensors: reuse freed memory instead of page-faulting fresh memory.

On CPU, PyTorch allocates and frees tensors of hundreds of MB many times per forward pass (one
vit_b global-attention score matrix is 12 x 4096 x 4096 floats, 805 MB). glibc serves each one
from a fresh mmap and unmaps it on free, so the kernel faults in and zeroes gigabytes anew every
pass: about 4 million page faults per vit_b encoder forward (docs/benchmarks-history.md). With mmap off,
one arena and no automatic trimming, freed blocks are reused without faulting: vit_b embeds and
trains about 1.5x faster on a CPU.

It is opt-in (MOPEFT_MALLOC=tuned) because of its price: torch allocates with posix_memalign, and
glibc cannot fit an aligned block back into the hole an equal one left, so the heap grows until
enough holes have merged. A vit_b training step peaked at 10.4 GB instead of 6.0 GB.

glibc reads these settings only when a process starts, so with MOPEFT_MALLOC=tuned the `mopeft`
and `mopeft-annotator` scripts start themselves again once with them (`use_tuned_malloc`). Memory
freed after a peak stays with the process until `release_free_memory()` hands it back; a window
running tuned calls that once a minute.
"""
from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys

MARKER = "MOPEFT_MALLOC"  # "tuned" asks for the settings below; anything else, or unset, keeps glibc's
TUNED = {
    "MALLOC_MMAP_MAX_": "0",  # big blocks come from the heap, where they can be reused
    "MALLOC_TRIM_THRESHOLD_": str(64 << 30),  # free() never gives the heap top back by itself
    "MALLOC_TOP_PAD_": str(1 << 30),  # grow the heap in 1 GiB steps
    "MALLOC_ARENA_MAX": "1",  # threads share the heap, so one thread's freed blocks serve another's
}


def on_glibc() -> bool:
    """True on Linux with glibc, the only C library these settings are for."""
    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def running_tuned(environ=os.environ) -> bool:
    """True when this process was started with MOPEFT_MALLOC=tuned and the settings are in place."""
    return on_glibc() and environ.get(MARKER) == "tuned" and all(name in environ for name in TUNED)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL("libc.so.6")


def tuned_environment(environ: dict[str, str]) -> dict[str, str] | None:
    """The environment to restart with, or None when there is nothing to do.

    Something to do only on glibc, outside a PyInstaller bundle (its bootloader keeps state in the
    environment; restarting it is untested), when MOPEFT_MALLOC=tuned asks for it and the settings
    are not all in place yet. A MALLOC_ variable the user set keeps the user's value.
    """
    if not on_glibc() or getattr(sys, "frozen", False) or environ.get(MARKER) != "tuned" or running_tuned(environ):
        return None
    return {**TUNED, **environ}


def system_environment(environ: dict[str, str]) -> dict[str, str]:
    """`environ` without the marker and the tuned settings: glibc's defaults."""
    return {k: v for k, v in environ.items() if k != MARKER and k not in TUNED}


def use_tuned_malloc() -> None:
    """With MOPEFT_MALLOC=tuned, restart this process (same interpreter, same arguments) with `TUNED`."""
    env = tuned_environment(dict(os.environ))
    if env is not None and getattr(sys, "orig_argv", None):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, sys.orig_argv, env)


def release_free_memory() -> bool:
    """Hand memory that is free inside the process back to the system (glibc only); True if any was."""
    return on_glibc() and bool(_libc().malloc_trim(0))
