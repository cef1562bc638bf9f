"""Fine-tuning as a job of a shared project's queue, Qt-free: what a client queues, and what `mopeft worker` does
with it (the same `FineTuneRun` as the window and `mopeft train`: begin, run, finish or fail, record).

While it trains, the worker reports each step's loss and gate values with a heartbeat (at most one write a second)
and stops between steps when the job's client asked it to (`JobTable.request_cancel`).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from segment_anything.modeling import Sam

from app.services.training_run import FineTuneRun, cannot_train
from app.store.jobs import Job
from app.store.project import Project
from app.training.finetune.events import StepEvent, TrainingCancelled
from app.training.finetune.settings import TrainSettings

REPORT_EVERY_S = 1.0
"""Least seconds between two progress writes of a running job."""


def fine_tune_request(model: str, settings: TrainSettings, skip_unedited: bool = False,
                      activate: str = "if-better") -> dict:
    """What a fine-tuning job asks for, as stored in the queue."""
    return {"model": model, "settings": settings.to_dict(), "skip_unedited": skip_unedited, "activate": activate}


def step_progress(event: StepEvent) -> dict:
    """A step as a job's progress (JSON); `progress_step` reads it back."""
    return dataclasses.asdict(event)


def progress_step(progress: dict) -> StepEvent:
    """The StepEvent a job's progress holds, for the plots of a client watching the job."""
    return StepEvent(**progress)


def run_job(project: Project, job: Job, load_model: Callable[[str], Sam],
            log: Callable[[str], None] = lambda _line: None, processes: int = 1) -> Job:
    """Run a job `JobTable.take` gave this worker and end it: finished (the adapter version recorded, active when
    the activation rule says so), failed (the reason) or cancelled. Returns the job as it ended. `processes`: the
    worker's data-parallel training processes (one per GPU), whatever the job asked."""
    request = job.request
    problem = cannot_train(project, request.get("skip_unedited", False))
    if problem:
        return project.jobs.finish(job.id, "failed", error=problem)
    try:
        settings = dataclasses.replace(TrainSettings.from_dict(request["settings"]), processes=processes)
        sam = load_model(request["model"])
    except Exception as exc:  # noqa: BLE001 - a job that cannot start fails with its reason, the worker goes on
        return project.jobs.finish(job.id, "failed", error=f"could not start: {exc}")
    run = FineTuneRun.begin(project, request["model"], settings, request.get("skip_unedited", False))
    stop, last = [False], [0.0]

    def on_event(event) -> None:
        if isinstance(event, StepEvent) and (time.monotonic() - last[0] >= REPORT_EVERY_S or event.step == event.steps):
            last[0] = time.monotonic()
            stop[0] = project.jobs.report(job.id, step_progress(event))
            log(f"job {job.id}: step {event.step}/{event.steps} loss {event.loss:.4f}")

    try:
        outcome = run.run(sam, on_event=on_event, cancel=lambda: stop[0], project=project)
    except TrainingCancelled as exc:
        run.fail(project, str(exc) or "cancelled", cancelled=True)
        return project.jobs.finish(job.id, "cancelled", error="its client asked it to stop")
    except Exception as exc:  # noqa: BLE001 - the run is marked failed, the active adapter stays
        message = str(exc) or type(exc).__name__
        run.fail(project, message)
        return project.jobs.finish(job.id, "failed", error=message)
    finished = run.finish(project, outcome, request.get("activate", "if-better"))
    return project.jobs.finish(job.id, "finished", {
        "version_id": finished.version.id, "number": finished.number, "activated": finished.activation.activate,
        "reason": finished.activation.reason, "before": outcome.before, "after": outcome.after})


def work(project: Project, worker: str, load_model: Callable[[str], Sam], once: bool = False, poll_s: float = 5.0,
         stop: Callable[[], bool] = lambda: False, log: Callable[[str], None] = lambda _line: None,
         processes: int = 1) -> int:
    """Take and run jobs until `stop()` (or, with `once`, until the queue is empty), each trained in `processes`
    data-parallel processes; how many were run."""
    done = 0
    while not stop():
        job = project.jobs.take(worker)
        if job is None:
            if once:
                break
            time.sleep(poll_s)
            continue
        log(f"job {job.id} from {job.requested_by}: fine-tuning {job.request['model']}")
        ended = run_job(project, job, load_model, log, processes)
        log(f"job {job.id} {ended.state}" + (f": {ended.error}" if ended.error else ""))
        done += 1
    return done
