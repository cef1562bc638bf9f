"""Child Python processes for the kill -9 tests: start a script against a project folder, read what it prints,
kill it mid-way."""
import os
import subprocess
import sys
from pathlib import Path

from fixture_paths import REPO


def start(script: str, folder: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def kill_after(child: subprocess.Popen, lines: int) -> list[tuple[int, ...]]:
    """Read `lines` lines of integers from the child, kill it (SIGKILL on POSIX, TerminateProcess on Windows),
    and return every line of integers it printed, including those still in the pipe."""
    printed = []
    try:
        while len(printed) < lines:
            line = child.stdout.readline()
            assert line, f"the child died: {child.stderr.read()}"
            printed.append(tuple(int(v) for v in line.split()))
    finally:
        child.kill()
        rest, _ = child.communicate(timeout=30)
    return printed + [tuple(int(v) for v in line.split()) for line in rest.splitlines() if line.strip()]
