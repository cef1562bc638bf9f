"""The job queue of a shared project: fine-tuning a client asks for, run by a worker on a GPU machine.

A client queues a job (`queue`); `mopeft worker` takes the oldest queued one (`take`: `FOR UPDATE SKIP LOCKED` on
PostgreSQL, so two workers never take the same job), reports progress with a heartbeat while it trains, and
finishes or fails it. A job whose worker died (no heartbeat for `STALE_AFTER`) goes back to the queue, up to
`MAX_ATTEMPTS` times, then fails with the reason. A client may ask a job to stop (`request_cancel`); the worker
checks between steps.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.store.database import Database, utc_now
from app.store.errors import NotFoundError, StoreError

STALE_AFTER = timedelta(minutes=2)
"""A running job without a heartbeat for this long is taken to have lost its worker."""
MAX_ATTEMPTS = 3
"""Times a job is started before a lost worker fails it for good."""

_COLUMNS = ("id, kind, request, requested_by, state, cancel_requested, worker, attempts, progress, result, error, "
            "created_at, started_at, heartbeat_at, finished_at")


@dataclass(frozen=True)
class Job:
    """One job: what was asked (`request`, a dict), by whom, where it stands, and what came of it."""

    id: int
    kind: str
    request: dict
    requested_by: str
    state: str
    cancel_requested: bool
    worker: str | None
    attempts: int
    progress: dict | None
    result: dict | None
    error: str | None
    created_at: str
    started_at: str | None
    heartbeat_at: str | None
    finished_at: str | None


def _loads(text: str | None):
    return None if text is None else json.loads(text)


def _job(row: tuple) -> Job:
    return Job(row[0], row[1], json.loads(row[2]), row[3], row[4], bool(row[5]), row[6], row[7], _loads(row[8]),
               _loads(row[9]), row[10], row[11], row[12], row[13], row[14])


class JobTable:
    """`project.jobs`."""

    def __init__(self, db: Database):
        self._db = db

    def queue(self, request: dict, requested_by: str, kind: str = "fine_tune") -> Job:
        """Queue a job asking for `request` (a JSON object)."""
        with self._db.transaction() as conn:
            job_id = conn.insert("INSERT INTO jobs (kind, request, requested_by, created_at) VALUES (?, ?, ?, ?)",
                                 (kind, json.dumps(request), requested_by, utc_now()))
        return self.get(job_id)

    def get(self, job_id: int) -> Job:
        """The job with this id; NotFoundError when there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFoundError(f"no job with id {job_id} in this project")
        return _job(row)

    def list(self) -> list[Job]:
        """Every job, oldest first."""
        return [_job(r) for r in self._db.rows(f"SELECT {_COLUMNS} FROM jobs ORDER BY id")]

    def take(self, worker: str) -> Job | None:
        """Start the oldest queued job as `worker`'s (None: the queue is empty); jobs of lost workers are put
        back first (`requeue_lost`)."""
        self.requeue_lost()
        now = utc_now()
        with self._db.transaction() as conn:
            row = conn.execute(f"SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1{self._db.row_lock}"
                               ).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET state = 'running', worker = ?, attempts = attempts + 1, started_at = ?, "
                         "heartbeat_at = ? WHERE id = ?", (worker, now, now, row[0]))
        return self.get(row[0])

    def report(self, job_id: int, progress: dict) -> bool:
        """Record a running job's progress and heartbeat; True when its client asked it to stop."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE jobs SET progress = ?, heartbeat_at = ? WHERE id = ? AND state = 'running'",
                         (json.dumps(progress), utc_now(), job_id))
        return self.get(job_id).cancel_requested

    def request_cancel(self, job_id: int) -> Job:
        """Ask a job to stop: a queued one is cancelled at once, a running one by its worker between steps."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            conn.execute("UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state = 'queued'",
                         (utc_now(), job_id))
        return self.get(job_id)

    def finish(self, job_id: int, state: str, result: dict | None = None, error: str | None = None) -> Job:
        """End a running job as finished (with its `result`), failed (with the `error`) or cancelled."""
        if state not in ("finished", "failed", "cancelled"):
            raise ValueError(f"a job ends finished, failed or cancelled, not {state!r}")
        with self._db.transaction() as conn:
            done = conn.execute("UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ? "
                                "WHERE id = ? AND state = 'running'",
                                (state, None if result is None else json.dumps(result), error, utc_now(),
                                 job_id)).rowcount
        if not done:
            raise StoreError(f"job {job_id} is not running (it was put back in the queue or has ended)")
        return self.get(job_id)

    def requeue_lost(self, stale_after: timedelta = STALE_AFTER) -> None:
        """Put the running jobs whose heartbeat stopped back in the queue; fail those started MAX_ATTEMPTS times."""
        cutoff = (datetime.now(timezone.utc) - stale_after).isoformat(timespec="milliseconds")
        with self._db.transaction() as conn:
            conn.execute("UPDATE jobs SET state = 'failed', finished_at = ?, error = ? "
                         "WHERE state = 'running' AND heartbeat_at < ? AND attempts >= ?",
                         (utc_now(), f"its worker stopped answering {MAX_ATTEMPTS} times", cutoff, MAX_ATTEMPTS))
            conn.execute("UPDATE jobs SET state = 'queued', worker = NULL WHERE state = 'running' "
                         "AND heartbeat_at < ?", (cutoff,))
