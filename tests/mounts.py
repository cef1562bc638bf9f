"""A small tmpfs mounted for one test, to make a real read-only medium or a real full disk (skipped where
this process may not mount, e.g. without root)."""
import shutil
import subprocess
from contextlib import contextmanager

import pytest


@contextmanager
def tmpfs(where, size="4m"):
    """Mount a tmpfs of `size` on the folder `where` (made if needed) for the block; unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount_readonly(where):
    """Make the tmpfs at `where` read-only (as a CD, a locked USB stick or a read-only share)."""
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


def fill(where):
    """Write a file on the disk of `where` until it is full; returns it (delete it to free the space)."""
    filler = where / "filler"
    with open(filler, "wb", buffering=0) as f:   # unbuffered: nothing is left to fail at close
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler
