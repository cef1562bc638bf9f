"""Disk full while saving: the failing save stores nothing (nothing half), says so, and the next save after
space is freed works. SQLite is made to fail a commit, or runs out of pages itself (max_page_count)."""
import errno
import json
import os
import sqlite3

import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession, Stroke
from app.coco.export import export_coco
from app.coco.importer import import_coco
from app.sam.engine import Prediction
from app.store import ImageStatus, Project

H, W = 192, 256
NOISE = np.random.default_rng(0).random((H, W)) < 0.5   # a mask whose RLE needs new database pages


class Disk:
    """The disk of the project's SQLite connections (those opened while the `disk` fixture is active).

    fill("commit"): every write transaction fails at COMMIT, its changes still pending (Database rolls back);
    fill("commit, rolled back"): as SQLite does on SQLITE_FULL, the transaction is gone when COMMIT fails;
    fill("pages"): real SQLITE_FULL from SQLite: the database may not grow by a page.
    """

    def __init__(self):
        self.full, self.connections = None, []

    def fill(self, how="commit"):
        self.full = how
        if how == "pages":
            for conn in self.connections:
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {pages}")

    def free(self):
        self.full = None
        for conn in self.connections:
            conn.execute("PRAGMA max_page_count = 1073741823")


@pytest.fixture
def disk(monkeypatch):
    disk, real_connect = Disk(), sqlite3.connect

    class Connection(sqlite3.Connection):
        writing = False

        def execute(self, sql, *args):
            if sql == "BEGIN IMMEDIATE":
                self.writing = True
            elif sql in ("COMMIT", "ROLLBACK") and self.writing:
                self.writing = False
                if sql == "COMMIT" and disk.full in ("commit", "commit, rolled back"):
                    if disk.full == "commit, rolled back":
                        super().execute("ROLLBACK")
                    else:
                        self.writing = True   # still in the transaction
                    raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    def connect(*args, **kwargs):
        conn = real_connect(*args, factory=Connection, **kwargs)
        disk.connections.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return disk


@pytest.fixture
def project(tmp_path, disk):
    for i in range(2):
        PILImage.fromarray(np.full((H, W), 40 * i, np.uint8)).save(tmp_path / f"img{i}.png")
    with Project.open(tmp_path, create=True) as project:
        project.images.scan()
        yield project


def stored(project):
    return [i for image in project.images.list() for i in project.instances.for_image(image.id)]


@pytest.mark.parametrize("how", ["commit", "commit, rolled back", "pages"])
def test_a_failing_add_stores_nothing_and_the_next_add_works(project, disk, how):
    image, label = project.images.list()[0], project.labels.add("cell")
    disk.fill(how)
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        project.instances.add(image.id, label.id, NOISE)
    assert stored(project) == [] and project.images.get(image.id).status == ImageStatus.NEW
    disk.free()
    instance = project.instances.add(image.id, label.id, NOISE)
    assert [i.id for i in stored(project)] == [instance.id] and np.array_equal(instance.mask, NOISE)
    project.close()
    with Project.open(project.folder, readonly=True) as again:   # what reached the file
        (only,) = stored(again)
        assert np.array_equal(only.mask, NOISE) and again.images.get(image.id).status == ImageStatus.IN_PROGRESS


@pytest.mark.parametrize("how", ["commit", "pages"])
def test_a_coco_import_on_a_full_disk_says_so_and_imports_nothing(project, disk, how):
    """The import's writes are savepoints inside one transaction; SQLITE_FULL rolls all of it back at once."""
    rle = {"size": [H, W], "counts": _runs(NOISE)}
    path = project.folder / "in.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "img1.png"}], "categories": [{"id": 1, "name": "a"}],
                                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": rle}]}))
    disk.fill(how)
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        import_coco(project, path)
    assert stored(project) == [] and project.labels.list() == []
    disk.free()
    assert import_coco(project, path).annotations_added == 1 and len(stored(project)) == 1


def _runs(mask):
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
    return ([0] + runs) if flat[0] else runs


@pytest.fixture
def session(project):
    session = AnnotationSession(project)
    session.errors, session.requests = [], []
    session.error.connect(session.errors.append)
    session.predict_requested.connect(session.requests.append)
    session.open_image(session.images()[0].id)
    return session


def test_accept_of_a_brush_draft_on_a_full_disk_keeps_it_and_a_retry_stores_it_once(session, disk):
    session.paint(Stroke(((10.0, 10.0), (30.0, 10.0)), 3.0))
    draft, mask = session.draft, session.draft_mask.dense()
    disk.fill()
    assert session.accept() is None   # no label yet: the default one cannot be made either
    assert session.project.labels.list() == []
    _check_failed_then_retry(session, disk, draft, mask)


def test_accept_waiting_for_sam_on_a_full_disk_keeps_the_draft_and_a_retry_stores_it_once(session, disk):
    session.labels.add("cell")
    session.add_point(40.0, 30.0)
    disk.fill()
    assert session.accept() is None and session.pending and session.errors == []   # waits for SAM's mask
    masks = np.zeros((1, H, W), bool)
    masks[0, 20:40, 30:50] = True
    session.prediction_ready(session.requests[-1], Prediction(masks, np.array([0.9], np.float32),
                                                              np.zeros((1, 32, 32), np.float32)))
    _check_failed_then_retry(session, disk, session.draft, masks[0])


def _check_failed_then_retry(session, disk, draft, mask):
    (message,) = session.errors
    assert message.startswith("Could not accept instance: ") and "disk is full" in message
    assert session.draft is draft and np.array_equal(session.draft_mask.dense(), mask)
    assert session.history.undo_text != "accept instance"
    image = session.project.images.get(session.image.id)
    assert session.instances() == [] and image.status == ImageStatus.NEW
    disk.free()
    instance = session.accept()
    assert instance is not None and np.array_equal(instance.mask, mask)
    assert [i.id for i in session.instances()] == [instance.id] and session.draft.empty
    assert len(session.errors) == 1 and session.history.undo_text == "accept instance"


class FillingFile:
    """A text file with `room` bytes left on its disk: the write that does not fit writes what fits, then fails."""

    def __init__(self, file, room):
        self._file, self._room = file, room

    def write(self, text):
        fits = max(0, self._room)
        self._room -= len(text)
        if self._room < 0:
            self._file.write(text[:fits])
            self._file.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._file.write(text)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_a_coco_export_to_a_full_disk_leaves_the_earlier_export_and_no_partial_file(project, monkeypatch, where):
    out = project.folder / "export" / "coco.json"
    out.parent.mkdir()
    image, label = project.images.list()[0], project.labels.add("cell")
    project.instances.add(image.id, label.id, NOISE)
    export_coco(project, out)
    earlier = out.read_bytes()
    project.instances.add(image.id, label.id, ~NOISE)
    real_fdopen = os.fdopen

    def full_fsync(fd):   # a disk that reports it is full only when the data must reach it (NFS, delayed allocation)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch, pytest.raises(OSError) as raised:
        if where == "write":
            patch.setattr(os, "fdopen", lambda *a, **k: FillingFile(real_fdopen(*a, **k), len(earlier) // 2))
        else:
            patch.setattr(os, "fsync", full_fsync)
        export_coco(project, out)
    assert raised.value.errno == errno.ENOSPC and str(out) in str(raised.value)   # names the file
    assert os.listdir(out.parent) == ["coco.json"] and out.read_bytes() == earlier
    assert export_coco(project, out).annotations == 2 and len(json.loads(out.read_text())["annotations"]) == 2
