"""Fine-tuning jobs of a project's queue, on both backends: queued by a client, taken once by one worker, run
with the same trainer (progress and gates reported, the adapter version recorded and made active), cancelled,
failed with their reason, put back when their worker died and failed after too many tries; on PostgreSQL four
workers racing for two jobs take each once, and `mopeft train --queue` + `mopeft worker --once` do it all headless."""
from datetime import timedelta

import pytest

from app.cli.main import main
from app.mopeft import MoPEFTConfig
from app.services.jobs import fine_tune_request, run_job, work
from app.store.jobs import MAX_ATTEMPTS
from app.training.finetune.settings import TrainSettings
from fixture_paths import TINY_SAM
from races import at_once
from toy_shapes import add_toy_scenes

SETTINGS = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=3, lr=3e-2)


@pytest.fixture
def project(backend, tmp_path):
    """Four toy images with one accepted instance each, on the backend."""
    folder = tmp_path / "toy"
    folder.mkdir()
    with backend.open(folder, create=True) as project:
        add_toy_scenes(project, folder, count=4)
        yield project


@pytest.mark.slow
def test_a_queued_job_is_run_by_a_worker_into_the_active_version(project, tiny_sam):
    job = project.jobs.queue(fine_tune_request("tiny-fixture", SETTINGS, activate="always"), "ana@lab")
    assert (job.state, job.requested_by, job.attempts) == ("queued", "ana@lab", 0)
    taken = project.jobs.take("gpu-box")
    assert (taken.id, taken.state, taken.worker, taken.attempts) == (job.id, "running", "gpu-box", 1)
    assert project.jobs.take("other-box") is None   # one job, one worker
    ended = run_job(project, taken, lambda model: tiny_sam)
    assert ended.state == "finished" and ended.error is None
    assert ended.progress["step"] == ended.progress["steps"] == 3 and ended.progress["gates"]
    version = project.adapters.active()
    assert ended.result["version_id"] == version.id and ended.result["activated"]
    assert project.training_runs.list()[-1].status.value == "finished"


@pytest.mark.slow
def test_cancelled_failed_and_lost_jobs(project, tiny_sam):
    queued = project.jobs.queue(fine_tune_request("tiny-fixture", SETTINGS), "ana@lab")
    assert project.jobs.request_cancel(queued.id).state == "cancelled"   # never started
    running = project.jobs.queue(fine_tune_request("tiny-fixture", SETTINGS), "ana@lab")
    taken = project.jobs.take("gpu-box")
    project.jobs.request_cancel(running.id)
    ended = run_job(project, taken, lambda model: tiny_sam)
    assert ended.state == "cancelled" and project.adapters.list() == []
    assert project.training_runs.list()[-1].status.value == "cancelled"

    broken = project.jobs.queue(fine_tune_request("no-such-model", SETTINGS), "ana@lab")

    def refuse(model):
        raise ValueError(f"{model}: not a registered model")

    assert run_job(project, project.jobs.take("gpu-box"), refuse).error == \
        "could not start: no-such-model: not a registered model"
    assert project.jobs.get(broken.id).state == "failed"

    lost = project.jobs.queue(fine_tune_request("tiny-fixture", SETTINGS), "ana@lab")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert project.jobs.take("dies-at-once").attempts == attempt   # the worker is killed: no heartbeat
        project.jobs.requeue_lost(stale_after=timedelta(seconds=-1))   # its heartbeat is older than now
    gone = project.jobs.get(lost.id)
    assert gone.state == "failed" and "stopped answering" in gone.error


def test_workers_racing_for_jobs_take_each_once(backend, project, tmp_path):
    if backend.sqlite:
        pytest.skip("one writer at a time on SQLite: the race is a PostgreSQL one")
    ids = {project.jobs.queue(fine_tune_request("tiny-fixture", SETTINGS), "ana@lab").id for _ in range(2)}
    taken = at_once([backend.open(tmp_path / "toy") for _ in range(4)],
                    lambda n, client: getattr(client.jobs.take(f"worker-{n}"), "id", None))
    assert sorted(taken) == sorted(ids)


@pytest.mark.slow
def test_queue_and_worker_from_the_command_line(backend, project, capsys):
    target = str(backend.target(project.folder))
    if backend.sqlite:
        project.close()   # the command opens the folder's project itself (one writer)
        assert main(["train", "--project", target, "--model", str(TINY_SAM), "--queue"]) == 2
        assert "--queue is for a shared project" in capsys.readouterr().err
        return
    assert main(["train", "--project", target, "--model", str(TINY_SAM), "--blocks", "last:2", "--steps", "2",
                 "--queue"]) == 0
    assert "queued" in capsys.readouterr().out
    assert main(["worker", "--project", target, "--once", "--device", "cpu"]) == 0
    assert "1 job(s) run" in capsys.readouterr().out
    (job,) = project.jobs.list()
    assert job.state == "finished" and job.progress["steps"] == 2


def test_work_stops_when_asked(project):
    assert work(project, "gpu-box", lambda model: None, once=True) == 0
    assert work(project, "gpu-box", lambda model: None, stop=lambda: True) == 0


@pytest.mark.slow
def test_a_worker_with_two_processes_trains_each_job_data_parallel(project, tiny_sam):
    project.jobs.queue(fine_tune_request("tiny-fixture", SETTINGS, activate="always"), "ana@lab")
    ended = run_job(project, project.jobs.take("gpu-box"), lambda model: tiny_sam, processes=2)
    assert ended.state == "finished", ended.error
    assert project.training_runs.list()[-1].settings["processes"] == 2   # recorded with the run
