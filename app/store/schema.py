"""The database schema as numbered migration steps, and the version rule that applies them on either backend.

Step n is `MIGRATIONS[n - 1]` (SQLite; `app.store.pg_schema.MIGRATIONS` holds the same steps for PostgreSQL, with
the same numbers); the number of the last step applied is kept in SQLite's `user_version` (PostgreSQL: the one-row
table `mopeft_project`). Opening a database applies the missing steps in order, each in its own transaction; a
database whose version is higher than `SCHEMA_VERSION` was written by a newer app and is refused. Steps are never
edited once released: a change to the schema is a new step at the end, on both backends.
See docs/decisions/0001-project-store.md and 0004-postgresql-store.md.
"""
from __future__ import annotations

from typing import Protocol

from app.store.errors import SchemaVersionError


class Versioned(Protocol):
    """What the version rule needs of a backend's connection (app.store.database.Database, PgDatabase)."""

    location: str
    migrations: tuple[str, ...]

    def schema_version(self) -> int: ...

    def apply_step(self, number: int, script: str) -> None: ...

MIGRATIONS: tuple[str, ...] = (
    # 1: images, labels, instances, adapter versions, training runs.
    """
    CREATE TABLE images (
        id           INTEGER PRIMARY KEY,
        path         TEXT NOT NULL UNIQUE,          -- relative to the project folder, '/' separators
        width        INTEGER NOT NULL CHECK (width > 0),
        height       INTEGER NOT NULL CHECK (height > 0),
        content_hash TEXT NOT NULL,                 -- SHA-256 of the file, hex
        status       TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'done')),
        added_at     TEXT NOT NULL
    );
    CREATE INDEX images_by_hash ON images (content_hash);

    CREATE TABLE labels (
        id       INTEGER PRIMARY KEY,
        name     TEXT NOT NULL UNIQUE CHECK (name <> ''),
        colour   TEXT NOT NULL,                     -- '#rrggbb'
        position INTEGER NOT NULL                   -- 0 first; the order of the label list
    );

    CREATE TABLE instances (
        id         INTEGER PRIMARY KEY,
        image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        label_id   INTEGER NOT NULL REFERENCES labels (id),
        rle        TEXT NOT NULL,                   -- COCO compressed RLE counts at the image's full size
        area       INTEGER NOT NULL CHECK (area > 0),
        bbox_x     INTEGER NOT NULL,
        bbox_y     INTEGER NOT NULL,
        bbox_w     INTEGER NOT NULL,
        bbox_h     INTEGER NOT NULL,
        source     TEXT NOT NULL CHECK (source IN ('model', 'corrected', 'imported')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX instances_by_image ON instances (image_id);
    CREATE INDEX instances_by_label ON instances (label_id);

    CREATE TABLE training_runs (
        id          INTEGER PRIMARY KEY,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        status      TEXT NOT NULL
                    CHECK (status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted')),
        settings    TEXT NOT NULL,                  -- JSON object
        summary     TEXT                            -- JSON object, once finished
    );

    CREATE TABLE adapter_versions (
        id              INTEGER PRIMARY KEY,
        path            TEXT NOT NULL UNIQUE,       -- relative to the project folder
        base_model      TEXT NOT NULL,
        config          TEXT NOT NULL,              -- JSON object
        metrics         TEXT NOT NULL,              -- JSON object
        created_at      TEXT NOT NULL,
        active          INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
        training_run_id INTEGER REFERENCES training_runs (id)
    );
    -- At most one active adapter version; none active means the base model.
    CREATE UNIQUE INDEX one_active_adapter ON adapter_versions (active) WHERE active = 1;
    """,
    # 2: instances.unedited, whether SAM's mask was accepted as it came (see app/store/instances.py). Instances
    # from before this step: corrected and imported ones are known not to be (0); SAM's ones are unknown (NULL),
    # because refining clicks were not recorded.
    """
    ALTER TABLE instances ADD COLUMN unedited INTEGER CHECK (unedited IN (0, 1));
    UPDATE instances SET unedited = 0 WHERE source <> 'model';
    """,
    # 3: the fixed validation split of fine-tuning, kept across runs so that versions are
    # compared on the same images. An annotated image gets its row the first time a run sees it.
    """
    CREATE TABLE validation_split (
        image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        held_out INTEGER NOT NULL CHECK (held_out IN (0, 1))   -- 1: a validation image, never trained on
    );
    """,
    # 4: automatic proposals (app/store/proposals.py) and the link of an instance to the proposal it was accepted
    # from. A proposal's state follows its instance: adding an instance that links it makes it accepted, deleting
    # that instance (by any path: the annotator, a label deleted with its instances) makes it rejected. Ids are
    # never reused (AUTOINCREMENT): an undo step that names a proposal replaced since cannot take another one.
    """
    CREATE TABLE proposals (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id           INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        rle                TEXT NOT NULL,           -- COCO compressed RLE counts at the image's full size
        area               INTEGER NOT NULL CHECK (area > 0),
        bbox_x             INTEGER NOT NULL,
        bbox_y             INTEGER NOT NULL,
        bbox_w             INTEGER NOT NULL,
        bbox_h             INTEGER NOT NULL,
        predicted_iou      REAL NOT NULL,
        stability          REAL NOT NULL,
        point_x            REAL NOT NULL,           -- the prompt point that made it, image pixels
        point_y            REAL NOT NULL,
        model              TEXT NOT NULL,           -- the base model's name or checkpoint, as adapter_versions has it
        adapter_version_id INTEGER REFERENCES adapter_versions (id),   -- NULL: the base model alone
        state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
        created_at         TEXT NOT NULL
    );
    CREATE INDEX proposals_by_image ON proposals (image_id, state);
    ALTER TABLE instances ADD COLUMN proposal_id INTEGER REFERENCES proposals (id) ON DELETE SET NULL;
    CREATE UNIQUE INDEX one_instance_per_proposal ON instances (proposal_id) WHERE proposal_id IS NOT NULL;
    CREATE TRIGGER proposal_accepted AFTER INSERT ON instances WHEN NEW.proposal_id IS NOT NULL
    BEGIN
        UPDATE proposals SET state = 'accepted' WHERE id = NEW.proposal_id;
    END;
    CREATE TRIGGER proposal_instance_deleted AFTER DELETE ON instances WHEN OLD.proposal_id IS NOT NULL
    BEGIN
        UPDATE proposals SET state = 'rejected' WHERE id = OLD.proposal_id AND state = 'accepted';
    END;
    """,
    # 5: the SHA-256 of each adapter file, checked before the file is used (app.store.adapters): on a shared
    # project another client's file is trusted only when it matches. NULL for versions recorded before this step.
    """
    ALTER TABLE adapter_versions ADD COLUMN sha256 TEXT;
    """,
    # 6: per-image claims of a shared project (app/store/claims.py): who works on which image since when, renewed
    # while their window is open; one past CLAIM_TIMEOUT without renewal is free again. Session state: a move
    # (app/store/transfer.py) does not copy it.
    """
    CREATE TABLE claims (
        image_id   INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        annotator  TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        renewed_at TEXT NOT NULL
    );
    """,
    # 7: instances.revision, raised by every change of an instance, so that a change made from what another
    # annotator has changed since is refused instead of overwriting theirs (app/store/instances.py).
    """
    ALTER TABLE instances ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: the job queue of a shared project (app/store/jobs.py): fine-tuning asked for by a client, run by
    # `mopeft worker` on a GPU machine. Session state like the claims: a move does not copy it.
    """
    CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        kind             TEXT NOT NULL CHECK (kind IN ('fine_tune')),
        request          TEXT NOT NULL,           -- JSON: model, training settings, skip_unedited, activate
        requested_by     TEXT NOT NULL,
        state            TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'running', 'finished', 'failed', 'cancelled')),
        cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
        worker           TEXT,
        attempts         INTEGER NOT NULL DEFAULT 0,
        progress         TEXT,                    -- JSON: the last step (step, steps, loss, gates)
        result           TEXT,                    -- JSON: the adapter version made and whether it became active
        error            TEXT,
        created_at       TEXT NOT NULL,
        started_at       TEXT,
        heartbeat_at     TEXT,
        finished_at      TEXT
    );
    CREATE INDEX jobs_by_state ON jobs (state, id);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: Versioned) -> int:
    """The number of the last migration step applied to this database (0 for a new one)."""
    return db.schema_version()


def check_readable(db: Versioned, migrations: tuple[str, ...] | None = None) -> None:
    """Raise SchemaVersionError unless the database is exactly at the version this app writes."""
    known = len(db.migrations if migrations is None else migrations)
    version = db.schema_version()
    _refuse_newer(version, db.location, known)
    if version < known:
        raise SchemaVersionError(
            f"{db.location}: the project uses schema version {version}, older than this app's "
            f"{known}; open it once for writing to upgrade it.")


def migrate(db: Versioned, migrations: tuple[str, ...] | None = None) -> None:
    """Apply the steps the database lacks (default: its backend's), in order, each in its own transaction.

    A failing step is rolled back and re-raised; the steps before it stay applied.
    """
    migrations = db.migrations if migrations is None else migrations
    version = db.schema_version()
    _refuse_newer(version, db.location, len(migrations))
    for number in range(version + 1, len(migrations) + 1):
        db.apply_step(number, migrations[number - 1])


def _refuse_newer(version: int, location: str, known: int) -> None:
    if version > known:
        raise SchemaVersionError(
            f"{location}: this project was saved by a newer version of MoPEFT Annotator (schema version "
            f"{version}; this version knows up to {known}). Update the app to open it; nothing was changed.")
