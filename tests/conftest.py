"""Test-wide settings: Qt offscreen, float32 unless a test asks, deterministic torch, small thread count, a backstop
behind the test timeout."""
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MOPEFT_PRECISION", "fp32")  # exact comparisons on any CPU; precision tests ask for theirs

import pytest  # noqa: E402
import torch  # noqa: E402

pytest_plugins = ["window_fixtures"]  # the window tests' fixtures, for every test folder


def pytest_collection_modifyitems(items):
    """A test that starts the PostgreSQL server (`pg_server`: initdb and a start, seconds) is slow: the fast suite
    runs the store on SQLite, the full suite on both (the `backend` fixture marks its PostgreSQL half alike)."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session):
    """Move everything imported so far (torch, Qt, the app) out of the cycle collector's way, as the app does at
    start (`app.ui.gui_gc.freeze_startup_objects`): each window test ends with a full collection, which took
    0.33 s when it scanned all of them."""
    from app.ui.gui_gc import freeze_startup_objects

    freeze_startup_objects()


@pytest.fixture
def tiny_sam():
    """The `tiny` SAM with the fixture weights (trained a little on toy shapes): training steps take milliseconds."""
    from app.sam.variants import build_sam
    from fixture_paths import TINY_SAM

    sam = build_sam("tiny")
    sam.load_state_dict(torch.load(TINY_SAM, weights_only=True))
    return sam


@pytest.fixture
def tiny_sam2():
    """SAM 2.1's `sam2_tiny` with random weights (seeded), every tensor moved a little so that its masks have edges."""
    from sam2_models import random_sam2_tiny

    return random_sam2_tiny(seed=1, noise=0.05)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield


BACKSTOP_S = 60
"""How long past pytest-timeout's limit a test whose main thread ignores the SIGALRM may run before the run ends."""


@pytest.hookimpl(optionalhook=True)
def pytest_timeout_set_timer(item, settings):
    """Behind pytest-timeout's signal method (which fails the test alone), a timer thread: when the main thread is
    stuck where no signal handler runs, it ends the run with every thread's stack as the thread method does.
    Returns None, so pytest-timeout arms its own timer as well (see pyproject.toml)."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None
    import pytest_timeout

    timer = threading.Timer(settings.timeout + BACKSTOP_S, pytest_timeout.timeout_timer, (item, settings))
    timer.daemon = True
    timer.name = f"timeout backstop {item.nodeid}"
    timer.start()
    item.timeout_backstop = timer
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_timeout_cancel_timer(item):
    """Stop the backstop with the test's own timer."""
    timer = getattr(item, "timeout_backstop", None)
    if timer is not None:
        timer.cancel()
    return None


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for this test session (app/store/pg_throwaway.py); skipped, with the reason, only when no server
    binary is installed (`.ci/run` installs one)."""
    from app.store.pg_throwaway import PgServer, server_binaries

    binaries = server_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binary (initdb) on PATH or in /usr/lib/postgresql/*/bin: the PostgreSQL "
                    "backend is not tested here (install Debian's postgresql package; .ci/run does)")
    server = PgServer(binaries)
    yield server
    server.stop()
