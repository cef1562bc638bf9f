"""One place for the app's name, its per-user folders and its thread counts: every caller lands in the same folders."""
import os

import pytest

from app import app_env
from app.sam.checkpoints import CHECKPOINT_DIR_ENV, checkpoint_dir
from app.sam.embedding_cache import default_cache_dir
from app.training.finetune.saving import rescue_dirs
from app.ui.app_paths import AppPaths


@pytest.fixture
def home(tmp_path, monkeypatch):
    for kind in ("CONFIG", "DATA", "CACHE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    return tmp_path


@pytest.mark.skipif(os.name != "posix" or os.uname().sysname == "Darwin", reason="XDG folders are Linux's")
def test_the_window_the_cli_and_the_trainer_keep_files_in_the_same_folders(home):
    paths = AppPaths.default()
    assert paths == AppPaths(home / "config" / app_env.APP_NAME, home / "data" / app_env.APP_NAME,
                             home / "cache" / app_env.APP_NAME)
    assert default_cache_dir() == paths.embeddings_dir                 # what `mopeft embed` fills, the window reads
    assert checkpoint_dir() == paths.cache_dir / "checkpoints"
    assert rescue_dirs()[0] == paths.data_dir / "rescued-adapters"


@pytest.mark.parametrize("cores, sam, training", [(None, 1, 1), (1, 1, 1), (2, 1, 1), (8, 4, 7)])
def test_thread_counts_leave_room_for_the_interface(monkeypatch, cores, sam, training):
    monkeypatch.setattr(app_env.os, "cpu_count", lambda: cores)
    assert (app_env.sam_threads(), app_env.training_threads()) == (sam, training)
