"""Opening a project never aborts: what it finds on disk is cleaned up, diagnosed or reported, never fatal."""
import os
from pathlib import Path
import sqlite3

import numpy as np
import pytest

from app.coco.export import export_coco
from app.mopeft import MoPEFTConfig, save_adapter, wrap
from app.sam.variants import build_sam
from app.store import Project, ProjectCorruptError, ProjectLockedError, ReadOnlyProjectError
from app.store.database import Database
from app.store.errors import DiskFullError, ProjectNotWritableError
from mounts import fill, remount_readonly, tmpfs
from png_files import write_png


def test_temporary_files_of_an_interrupted_adapter_save_are_removed_at_open(tmp_path, monkeypatch):
    with Project.open(tmp_path, create=True) as project:
        adapters = project.adapters_dir
    sam = wrap(build_sam("tiny"), MoPEFTConfig(blocks="last:1"))
    save_adapter(sam, adapters / "adapter-done.safetensors")
    with monkeypatch.context() as killed:           # the process dies between writing and renaming
        killed.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
        killed.setattr(Path, "unlink", lambda self, missing_ok=False: None)
        with pytest.raises(KeyboardInterrupt):
            save_adapter(sam, adapters / "adapter-cut.safetensors")
    (stray,) = [p.name for p in adapters.iterdir() if p.name.endswith(".part")]
    old_stray = adapters / "adapter-old.safetensorsab12cd34.tmp"   # as saves before atomic_output left them
    old_stray.write_bytes(b"partial")
    (adapters / "notes.tmp").write_text("not ours to delete")
    with Project.open(tmp_path, readonly=True) as reader:   # a reader changes nothing
        assert (adapters / stray).exists() and reader.notes == []
    with Project.open(tmp_path) as project:
        assert sorted(p.name for p in adapters.iterdir()) == ["adapter-done.safetensors", "notes.tmp"]
        (note,) = project.notes
        assert stray in note and old_stray.name in note and "interrupted save" in note


def annotated_project(folder, images=2, instances=0):
    """A project in `folder` with `images` small images, a label, `instances` instances and a running run."""
    for i in range(images):
        write_png(folder / f"img{i}.png", 40, 50, 20 * i)
    with Project.open(folder, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        rng = np.random.default_rng(0)
        for _ in range(instances):
            project.instances.add(project.images.list()[0].id, label.id, rng.random((40, 50)) < 0.5)
        project.training_runs.start({"steps": 1})     # its process "dies": still running


def test_a_read_only_medium_opens_read_only_not_as_damage(tmp_path):
    with tmpfs(tmp_path / "medium") as medium:
        annotated_project(medium, instances=1)
        remount_readonly(medium)
        with pytest.raises(ProjectNotWritableError, match="read-only") as refused:
            Project.open(medium)
        assert "damaged" not in str(refused.value) and str(medium) in str(refused.value)
        with Project.open(medium, readonly=True) as project:     # browse and export
            assert [i.path for i in project.images.list()] == ["img0.png", "img1.png"]
            assert export_coco(project, tmp_path / "out.json").annotations == 1
            with pytest.raises(ReadOnlyProjectError):
                project.labels.add("more")


def test_a_full_disk_at_open_is_not_damage_and_the_project_opens_once_space_is_freed(tmp_path):
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        annotated_project(disk, instances=1)
        filler = fill(disk)
        for readonly in (False, True):
            with pytest.raises(DiskFullError, match="the disk is full") as refused:
                Project.open(disk, readonly=readonly)
            assert "damaged" not in str(refused.value).replace("not damaged", "")
        filler.unlink()
        with Project.open(disk) as project:
            assert len(project.instances.for_image(project.images.list()[0].id)) == 1


@pytest.mark.slow
def test_a_database_locked_by_another_program_is_reported_as_locked(tmp_path, monkeypatch):
    annotated_project(tmp_path)
    other = sqlite3.connect(tmp_path / ".mopeft" / "project.db", isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(Database, "busy_timeout", 0.05)
    try:
        for readonly in (False, True):
            with pytest.raises(ProjectLockedError, match="already open for writing by another process"):
                Project.open(tmp_path, readonly=readonly)
    finally:
        other.close()
    Project.open(tmp_path).close()


def test_a_damaged_data_page_is_found_at_open(tmp_path):
    annotated_project(tmp_path, images=1, instances=40)
    db = tmp_path / ".mopeft" / "project.db"
    with sqlite3.connect(db) as conn:
        page_size, pages = conn.execute("PRAGMA page_size").fetchone()[0], conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert pages > 8
    data = bytearray(db.read_bytes())
    middle = page_size * (pages // 2)                  # a data page; the header (page 1) is intact
    data[middle:middle + 64] = bytes(range(64))
    db.write_bytes(bytes(data))
    for readonly in (False, True):
        with pytest.raises(ProjectCorruptError, match="the project database is damaged"):
            Project.open(tmp_path, readonly=readonly)
    assert db.read_bytes() == bytes(data)               # left untouched


def test_a_run_that_cannot_be_marked_interrupted_does_not_stop_the_open(tmp_path):
    annotated_project(tmp_path)
    with sqlite3.connect(tmp_path / ".mopeft" / "project.db") as conn:   # the update fails, as on a bad disk
        conn.execute("CREATE TRIGGER no_update BEFORE UPDATE ON training_runs BEGIN "
                     "SELECT RAISE(ABORT, 'refused by the disk'); END")
    conn.close()
    with Project.open(tmp_path) as project:
        assert [image.path for image in project.images.list()] == ["img0.png", "img1.png"]
        (note,) = project.notes
        assert "interrupted" in note and "refused by the disk" in note
        assert project.labels.add("more").name == "more"      # the project works


def test_a_full_disk_during_the_first_scan_adds_nothing_and_says_so(tmp_path):
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        for i in range(30):
            write_png(disk / f"img{i:02}.png", 40, 50, i)
        Project.open(disk, create=True).close()
        with Project.open(disk) as project:
            filler = fill(disk)
            with pytest.raises(DiskFullError, match="the disk is full"):
                project.images.scan()
            assert project.images.list() == []
            filler.unlink()
            assert len(project.images.scan().added) == 30
