"""Opening, creating, locking and migrating a project; transactions; read-only use."""
import sqlite3

import cv2
import numpy as np
import pytest

from app.store import (Project, ProjectCorruptError, ProjectLockedError, ProjectNotFoundError,
                       ReadOnlyProjectError, SchemaVersionError)
from app.store import schema


def one_image_project(backend, folder):
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 10), np.uint8))
    project = backend.open(folder, create=True)
    project.images.scan()
    return project


def box_mask(y0, y1, x0, x1, shape=(8, 10)):
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_create_then_reopen_keeps_everything(backend, tmp_path):
    with one_image_project(backend, tmp_path) as project:
        label = project.labels.add("cell")
        instance = project.instances.add(1, label.id, box_mask(2, 5, 3, 7))
    assert (tmp_path / ".mopeft" / "adapters").is_dir()
    with backend.open(tmp_path) as project:       # PostgreSQL: the images root recorded at creation
        assert np.array_equal(project.instances.get(instance.id).mask, box_mask(2, 5, 3, 7))
        assert project.folder == tmp_path.resolve() and project.path_of("a.png") == tmp_path.resolve() / "a.png"
        assert schema.schema_version(project._db) == schema.SCHEMA_VERSION
    if not backend.sqlite:
        assert not (tmp_path / ".mopeft" / "project.db").exists()
        return
    conn = sqlite3.connect(tmp_path / ".mopeft" / "project.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION


def test_missing_folder_or_project_is_reported(backend, tmp_path):
    with pytest.raises(ProjectNotFoundError, match="no such folder|images folder of .* is not on this machine"):
        backend.open(tmp_path / "nope", create=True)
    with pytest.raises(ProjectNotFoundError, match="holds no MoPEFT project"):
        backend.open(tmp_path)
    assert not (tmp_path / ".mopeft").exists()


def test_second_writer_in_the_same_process_is_refused_until_the_first_closes(tmp_path):
    first = Project.open(tmp_path, create=True)
    with pytest.raises(ProjectLockedError, match=r"already open for writing by process \d+ on .*read-only"):
        Project.open(tmp_path)
    with Project.open(tmp_path, readonly=True) as reader:
        assert reader.labels.list() == []
    first.close()
    first.close()
    Project.open(tmp_path).close()


def test_readonly_sees_the_writers_commits_and_refuses_changes(backend, tmp_path):
    with one_image_project(backend, tmp_path) as writer, backend.open(tmp_path, readonly=True) as reader:
        writer.labels.add("cell")
        assert [label.name for label in reader.labels.list()] == ["cell"]
        with pytest.raises(ReadOnlyProjectError, match="read-only"):
            reader.labels.add("nucleus")
    with pytest.raises(ValueError):
        backend.open(tmp_path, create=True, readonly=True)


def test_a_transaction_keeps_all_or_nothing(backend, tmp_path):
    with one_image_project(backend, tmp_path) as project:
        label = project.labels.add("cell")
        with pytest.raises(RuntimeError):
            with project.transaction():
                project.instances.add(1, label.id, box_mask(0, 2, 0, 2))
                project.labels.add("nucleus")
                raise RuntimeError("user cancelled")
        assert project.instances.counts_per_image() == {1: 0}
        assert [label.name for label in project.labels.list()] == ["cell"]
        with project.transaction():
            project.instances.add(1, label.id, box_mask(0, 2, 0, 2))
            with pytest.raises(Exception):
                with project.transaction():     # a failing inner block undoes only itself
                    project.instances.add(1, label.id, box_mask(4, 6, 4, 6))
                    project.labels.add("cell")  # name taken
        assert project.instances.counts_per_image() == {1: 1}


def test_corrupt_database_blocks_opening_and_is_left_untouched(tmp_path):
    (tmp_path / ".mopeft").mkdir()
    db = tmp_path / ".mopeft" / "project.db"
    db.write_bytes(b"not a database" * 100)
    for readonly in (False, True):
        with pytest.raises(ProjectCorruptError, match="project.db: the project database is damaged"):
            Project.open(tmp_path, readonly=readonly)
    assert db.read_bytes() == b"not a database" * 100
    db.unlink()
    Project.open(tmp_path, create=True).close()   # the failed opening gave the writer lock back


def test_database_from_a_newer_app_is_refused(backend, tmp_path):
    backend.open(tmp_path, create=True).close()
    backend.set_schema_version(tmp_path, schema.SCHEMA_VERSION + 1)
    for readonly in (False, True):
        with pytest.raises(SchemaVersionError, match="saved by a newer version .* Update the app"):
            backend.open(tmp_path, readonly=readonly)


def test_migrations_apply_in_order_and_a_failing_step_is_rolled_back(backend, tmp_path):
    db = backend.database(tmp_path)
    steps = ("CREATE TABLE a (x INTEGER);", "INSERT INTO a VALUES (1);",
             "INSERT INTO a VALUES (2); INSERT INTO nowhere VALUES (3);")
    schema.migrate(db, steps[:1])
    assert schema.schema_version(db) == 1
    with pytest.raises(SchemaVersionError, match="older than this app's 2; open it once for writing"):
        schema.check_readable(db, steps[:2])
    with pytest.raises(Exception, match="nowhere"):
        schema.migrate(db, steps)
    assert schema.schema_version(db) == 2
    assert db.rows("SELECT x FROM a") == [(1,)]
    db.close()


def test_both_backends_have_the_same_numbered_steps():
    from app.store import pg_schema

    assert len(pg_schema.MIGRATIONS) == len(schema.MIGRATIONS) == schema.SCHEMA_VERSION
