"""`mopeft train` under what goes wrong: bad arguments refused before the model loads, a full disk at save,
a damaged mask, a non-finite loss, Ctrl+C. Each ends in one line, a run marked failed or cancelled, and the
previous adapter still active."""
import errno
import os
import shutil
import signal
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

import app.mopeft.adapter_file as adapter_file
from app.cli.main import main
from app.store.project import Project
from app.store.records import RunStatus
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



@pytest.fixture
def project_dir(tmp_path):
    return write_toy_project(tmp_path / "proj")


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, path)
    return path


def _args(project_dir, model, *extra):
    return ["train", "--project", str(project_dir), "--model", str(model), "--steps", "2", "--blocks", "last:2",
            *extra]


def _state(project_dir):
    """(run statuses, adapter version ids, active version id) of the project."""
    with Project.open(project_dir, readonly=True) as project:
        active = project.adapters.active()
        return ([r.status for r in project.training_runs.list()], [v.id for v in project.adapters.list()],
                active.id if active else None)


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("mopeft train:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("option, value, says", [
    ("--steps", "0", "steps must be at least 1, not 0"),
    ("--lr", "0", "learning rate must be a finite number above 0, not 0.0"),
    ("--lr=-1e-3", None, "learning rate must be a finite number above 0, not -0.001"),
    ("--lr", "nan", "learning rate must be a finite number above 0, not nan"),
    ("--lr", "inf", "learning rate must be a finite number above 0, not inf"),
])
def test_bad_steps_or_learning_rate_are_refused_before_the_model_loads(project_dir, tmp_path, capsys,
                                                                       option, value, says):
    missing_model = tmp_path / "not-there.pth"  # loading it would fail with another message
    assert main(_args(project_dir, missing_model, *filter(None, (option, value)))) == 2
    assert says in _one_line(capsys.readouterr().err)
    assert _state(project_dir) == ([], [], None)


def test_blocks_beyond_a_registered_models_depth_are_refused_before_it_loads(project_dir, capsys):
    # vit_h is not downloaded here: had it been loaded first, the error would say so
    assert main(["train", "--project", str(project_dir), "--model", "vit_h", "--blocks", "31,32"]) == 2
    assert "block indices [32] out of range for an encoder with 32 blocks" in _one_line(capsys.readouterr().err)


@pytest.mark.slow
def test_blocks_beyond_a_checkpoint_files_depth_are_refused_before_a_run_starts(project_dir, model, capsys):
    assert main(_args(project_dir, model)[:-2] + ["--blocks", "last:9"]) == 2
    assert "blocks='last:9' but the encoder has 4 blocks" in _one_line(capsys.readouterr().err)
    assert _state(project_dir) == ([], [], None)


@pytest.mark.slow
def test_a_full_disk_at_save_keeps_the_weights_elsewhere_and_the_old_adapter_active(
        project_dir, model, tmp_path, capsys, monkeypatch):
    assert main(_args(project_dir, model)) == 0
    _, versions, active = _state(project_dir)
    real_output = adapter_file.atomic_output

    @contextmanager
    def full_project_disk(path, mode="w", durable=True):
        if Path(path).is_relative_to(project_dir):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        with real_output(path, mode, durable) as f:
            yield f

    monkeypatch.setattr(adapter_file, "atomic_output", full_project_disk)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    capsys.readouterr()
    assert main(_args(project_dir, model)) == 1
    line = _one_line(capsys.readouterr().err)
    rescued = list((tmp_path / "data" / "mopeft-annotator" / "rescued-adapters").glob("*.safetensors"))
    assert len(rescued) == 1 and f"written to {rescued[0]} instead" in line
    assert "No space left on device" in line and "the active adapter is unchanged" in line
    assert adapter_file.read_adapter_header(rescued[0])[2]["steps"] == 2  # the trained weights, loadable
    assert _state(project_dir) == ([RunStatus.FINISHED, RunStatus.FAILED], versions, active)
    assert not [p for p in (project_dir / ".mopeft" / "adapters").iterdir() if p.name.endswith((".tmp", ".part"))]


@pytest.mark.slow
def test_a_damaged_mask_leaves_its_image_out_by_name(project_dir, model, capsys):
    with sqlite3.connect(project_dir / ".mopeft" / "project.db") as conn:
        conn.execute("UPDATE instances SET rle = '!!!!' WHERE id = 2")
    assert main(_args(project_dir, model, "--json")) == 0
    err = capsys.readouterr().err
    assert "[train] skipped img1.png: the mask of instance 2 is damaged in the project database" in err


@pytest.mark.slow
def test_damaged_masks_everywhere_fail_the_run_in_one_line(project_dir, model, capsys):
    with sqlite3.connect(project_dir / ".mopeft" / "project.db") as conn:
        conn.execute("UPDATE instances SET rle = '!!!!'")
    assert main(_args(project_dir, model)) == 1
    assert "nothing to train on" in _one_line(capsys.readouterr().err)
    assert _state(project_dir) == ([RunStatus.FAILED], [], None)


@pytest.mark.slow
def test_a_non_finite_loss_fails_the_run_in_one_line(project_dir, model, capsys, monkeypatch):
    assert main(_args(project_dir, model)) == 0
    _, versions, active = _state(project_dir)
    import app.training.finetune.loop as loop

    real_loss = loop.interactive_loss

    def diverging(*args, **kwargs):
        result = real_loss(*args, **kwargs)
        return type(result)(**{**vars(result), "loss": result.loss * float("nan")})

    monkeypatch.setattr(loop, "interactive_loss", diverging)
    capsys.readouterr()
    assert main(_args(project_dir, model)) == 1
    line = _one_line(capsys.readouterr().err)
    assert "the loss became nan at step 1" in line and "the active adapter is unchanged" in line
    assert _state(project_dir) == ([RunStatus.FINISHED, RunStatus.FAILED], versions, active)


@pytest.mark.slow
def test_ctrl_c_cancels_with_status_130_and_a_readable_message(project_dir, model, capsys, monkeypatch):
    import app.cli.train as train_cli

    real_progress = train_cli._progress

    def press_ctrl_c_at_step_2(event, told):
        real_progress(event, told)
        if getattr(event, "step", None) == 2:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(train_cli, "_progress", press_ctrl_c_at_step_2)
    before = signal.getsignal(signal.SIGINT)
    assert main(_args(project_dir, model)[:-4] + ["--steps", "50", "--blocks", "last:2"]) == 130
    line = _one_line(capsys.readouterr().err)
    assert line == ("mopeft train: cancelled (cancelled after 2 of 50 steps); nothing was saved, "
                    "the active adapter is unchanged")
    assert _state(project_dir) == ([RunStatus.CANCELLED], [], None)
    assert signal.getsignal(signal.SIGINT) is before   # the run's Ctrl+C handler is gone again
