"""The opt-in tuned glibc malloc: the scripts restart once with it, and free memory can be handed back."""
import os
import subprocess
import sys
import textwrap

import pytest

from app import memory

pytestmark = pytest.mark.skipif(not memory.on_glibc(), reason="the malloc settings apply to glibc (Linux) only")


def _env(**changes) -> dict[str, str]:
    return {**memory.system_environment(dict(os.environ)), **changes}


def _run(code: str, **env_changes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=_env(**env_changes),
                          capture_output=True, text=True, timeout=120, check=True)


SHOW = """
    import os
    from app.memory import use_tuned_malloc
    print("before", os.getpid(), flush=True)
    use_tuned_malloc()
    print("after", os.getpid(), os.environ.get("MALLOC_MMAP_MAX_"), os.environ.get("MALLOC_ARENA_MAX"))
"""


def test_asked_for_the_process_restarts_once_with_the_tuned_settings():
    lines = _run(SHOW, MOPEFT_MALLOC="tuned").stdout.splitlines()
    # the code before the restart ran twice (once per start), in the same process
    assert [line.split()[0] for line in lines] == ["before", "before", "after"]
    assert lines[0].split()[1] == lines[2].split()[1]
    assert lines[2].split()[2:] == ["0", "1"]


def test_a_malloc_variable_the_user_set_keeps_its_value():
    lines = _run(SHOW, MOPEFT_MALLOC="tuned", MALLOC_ARENA_MAX="4").stdout.splitlines()
    assert lines[-1].split()[2:] == ["0", "4"]


@pytest.mark.parametrize("env", [{}, {"MOPEFT_MALLOC": "system"}])
def test_by_default_glibc_keeps_its_settings(env):
    lines = _run(SHOW, **env).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["before", "after"]
    assert lines[1].split()[2:] == ["None", "None"]


def test_tuned_environment_keeps_the_rest_of_the_environment():
    env = memory.tuned_environment({"PATH": "/bin", "HOME": "/h", memory.MARKER: "tuned"})
    assert env["PATH"] == "/bin" and env["HOME"] == "/h"
    assert all(env[k] == v for k, v in memory.TUNED.items())
    assert memory.tuned_environment(env) is None


def test_no_restart_inside_a_pyinstaller_bundle(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert memory.tuned_environment({"PATH": "/bin", memory.MARKER: "tuned"}) is None


@pytest.mark.slow
def test_cli_script_keeps_its_arguments_and_exit_status_across_the_restart():
    env = _env(MOPEFT_MALLOC="tuned")
    bad = subprocess.run([sys.executable, "-m", "app.cli.main", "no-such-command"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no-such-command" in bad.stderr
    ok = subprocess.run([sys.executable, "-m", "app.cli.main", "synth", "--help"], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "--domain" in ok.stdout


@pytest.mark.slow
def test_freed_memory_stays_until_released():
    out = _run("""
        import os
        from app.memory import release_free_memory, use_tuned_malloc
        use_tuned_malloc()
        import numpy as np
        def rss_mb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        before = rss_mb()
        block = np.ones(300 * 2**20, dtype=np.uint8)  # 300 MiB, touched
        del block
        kept = rss_mb() - before
        released = release_free_memory()
        print(kept, rss_mb() - before, released)
    """, MOPEFT_MALLOC="tuned").stdout.split()
    kept, after_release, released = float(out[0]), float(out[1]), out[2]
    assert kept > 250  # freed, but kept for reuse instead of unmapped
    assert after_release < 50 and released == "True"
