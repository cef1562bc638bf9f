"""The training runs of a project: when each fine-tuning started and ended, with what settings and outcome."""
from __future__ import annotations

import json

from app.store.database import Database, utc_now
from app.store.errors import NotFoundError, StoreError
from app.store.records import RunStatus, TrainingRun

_COLUMNS = "id, started_at, finished_at, status, settings, summary"
_ENDINGS = (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.CANCELLED)


def _run(row: tuple) -> TrainingRun:
    return TrainingRun(row[0], row[1], row[2], RunStatus(row[3]), json.loads(row[4]),
                       None if row[5] is None else json.loads(row[5]))


class TrainingRunTable:
    """`project.training_runs`: one row per fine-tuning run, and the validation split the runs share."""

    def __init__(self, db: Database):
        self._db = db

    def start(self, settings: dict) -> TrainingRun:
        """Record a run starting now with these settings (a JSON object)."""
        with self._db.transaction() as conn:
            run_id = conn.insert("INSERT INTO training_runs (started_at, status, settings) VALUES (?, ?, ?)",
                                 (utc_now(), RunStatus.RUNNING.value, json.dumps(settings)))
        return self.get(run_id)

    def finish(self, run_id: int, status: RunStatus | str, summary: dict) -> TrainingRun:
        """Record the end of a running run: finished, failed or cancelled, with a summary (a JSON object)."""
        status = RunStatus(status)
        if status not in _ENDINGS:
            raise ValueError(f"a run ends as one of {[s.value for s in _ENDINGS]}, not {status.value!r}")
        with self._db.transaction() as conn:
            if self.get(run_id).status is not RunStatus.RUNNING:
                raise StoreError(f"training run {run_id} has already ended")
            conn.execute("UPDATE training_runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                         (utc_now(), status.value, json.dumps(summary), run_id))
        return self.get(run_id)

    def get(self, run_id: int) -> TrainingRun:
        """The run with this id; NotFoundError if there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM training_runs WHERE id = ?", (run_id,))
        if row is None:
            raise NotFoundError(f"no training run with id {run_id} in this project")
        return _run(row)

    def list(self) -> list[TrainingRun]:
        """Every run, oldest first."""
        return [_run(r) for r in self._db.rows(f"SELECT {_COLUMNS} FROM training_runs ORDER BY id")]

    def validation_split(self) -> dict[int, bool]:
        """The fixed validation split: {image id: True when held out for validation} of the images assigned."""
        return {image_id: bool(held_out) for image_id, held_out in
                self._db.rows("SELECT image_id, held_out FROM validation_split")}

    def assign_split(self, held_out: dict[int, bool]) -> None:
        """Add images to the validation split ({image id: held out}); an image assigned before keeps its side."""
        with self._db.transaction() as conn:
            conn.executemany("INSERT INTO validation_split (image_id, held_out) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             [(image_id, int(out)) for image_id, out in held_out.items()])

    def mark_interrupted(self) -> int:
        """Mark runs still 'running' as interrupted (their process died); returns how many. Called on opening."""
        with self._db.transaction() as conn:
            return conn.execute("UPDATE training_runs SET status = ?, finished_at = ? WHERE status = ?",
                                (RunStatus.INTERRUPTED.value, utc_now(), RunStatus.RUNNING.value)).rowcount
