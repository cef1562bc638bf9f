"""`mopeft migrate` and app.store.transfer: a folder -> PostgreSQL -> folder round trip keeps every row with its id
(instances, labels, proposals, adapter versions, runs, the validation split), the id counters and the adapter files,
and the COCO exports before and after are byte-identical; a destination holding a project is refused."""
import pytest
import shutil
from datetime import datetime, timezone

from PIL import Image as PILImage

import app.coco.export
from app.cli.main import main
from app.coco.export import export_coco
from app.store import Project
from app.store.transfer import TABLES
from proposal_records import Proposed, square_mask

H, W = 40, 60


def square(top, left):
    """An 8-pixel square in an image of this test's size."""
    return square_mask((H, W), top, left, 8)


def annotated_folder(folder):
    """A folder project with something in every table, a gap in the proposal ids, and an active adapter version."""
    folder.mkdir(parents=True)
    for name in ("a.png", "sub/b.png", "c.png"):
        (folder / name).parent.mkdir(exist_ok=True)
        PILImage.new("RGB", (W, H), (len(name), 0, 0)).save(folder / name)
    with Project.open(folder, create=True) as project:
        project.images.scan()
        a, b, _ = (image.id for image in project.images.list())
        cell, nucleus = project.labels.add("cell"), project.labels.add("nücleus", "#00ff00")
        project.instances.add(a, cell.id, square(1, 1), unedited=True)
        project.instances.add(a, nucleus.id, square(10, 20), "corrected")
        project.instances.add(b, cell.id, square(5, 5), "imported")
        run = project.training_runs.start({"steps": 3})
        project.training_runs.finish(run.id, "finished", {"loss": 0.25})
        project.training_runs.start({"steps": 9})                      # left running
        files = []
        for n in range(2):
            path = project.adapters_dir / f"v{n}.safetensors"
            path.write_bytes(bytes([n]) * 100)
            files.append(project.adapters.add(path, "demo", {"rank": n}, {"miou": 0.5 + n / 10}, run.id))
        project.adapters.set_active(files[1].id)
        made = [Proposed.of_mask(square(top, 30), 0.9 - top / 100, 0.95, (34.0, top + 4.0)) for top in (0, 12, 24)]
        first = project.proposals.replace_pending(a, made, "demo", files[0].id)
        project.instances.add(a, cell.id, first[0].mask.copy(), unedited=True, proposal_id=first[0].id)
        project.proposals.set_state([first[1].id], "rejected")
        project.proposals.replace_pending(b, made[:1], "demo")                 # ids 4; then 4 is replaced by 5
        project.proposals.replace_pending(b, made[1:2], "demo")
        project.training_runs.assign_split({a: False, b: True})
    return folder


def everything(project):
    """Every row of every table, ordered, and the id each table gives next."""
    db = project._db
    rows = {table: db.rows(f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}
    return rows, {table: db.id_high_water(table) for table in TABLES if table != "validation_split"}


def frozen_export(project, path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 1, tzinfo=timezone.utc)

    monkeypatch.setattr(app.coco.export, "datetime", Frozen)
    export_coco(project, path)
    return path.read_bytes()


def test_folder_to_postgresql_and_back_keeps_everything_and_the_export(pg_server, tmp_path, monkeypatch, capsys):
    source = annotated_folder(tmp_path / "before" / "cells")
    url = pg_server.new_database()
    with Project.open(source, readonly=True) as project:
        before, counters = everything(project)
        coco_before = frozen_export(project, tmp_path / "before.json", monkeypatch)
    assert main(["migrate", "--from", str(source), "--to", url]) == 0
    out, err = capsys.readouterr()
    assert "moved" in out and "3 images" in out and "[migrate] instances: 4/4" in err

    back = tmp_path / "after" / "cells"            # another machine's copy of the images, without the project
    shutil.copytree(source, back, ignore=shutil.ignore_patterns(".mopeft"))
    assert main(["migrate", "--from", url, "--to", str(back), "--images-root", str(source)]) == 0
    assert "2 adapter file(s) copied" in capsys.readouterr().out
    with Project.open(url, readonly=True) as on_server, Project.open(back, readonly=True) as project:
        for moved in (on_server, project):
            rows, moved_counters = everything(moved)
            assert moved_counters == counters
            for table in TABLES:
                assert rows[table] == before[table], table
        assert frozen_export(project, tmp_path / "after.json", monkeypatch) == coco_before
        assert frozen_export(on_server, tmp_path / "server.json", monkeypatch) == coco_before
    with Project.open(back) as project:
        active = project.adapters.active()
        assert project.adapters.file(active).read_bytes() == bytes([1]) * 100
        (again,) = project.proposals.replace_pending(1, [Proposed.of_mask(square(0, 0), 0.5, 0.5, (1, 1))],
                                                     "demo")
        assert again.id == counters["proposals"] + 1      # a moved project never reuses a proposal id


@pytest.mark.slow
def test_a_destination_with_a_project_is_refused_and_left_as_it_was(pg_server, tmp_path, capsys):
    source = annotated_folder(tmp_path / "cells")
    url = pg_server.new_database()
    assert main(["migrate", "--from", str(source), "--to", url]) == 0
    capsys.readouterr()
    assert main(["migrate", "--from", str(source), "--to", url]) == 1
    assert "already holds a project with data" in capsys.readouterr().err
    assert main(["migrate", "--from", url, "--to", str(source)]) == 1   # the folder still has its own
    assert "already holds a project with data" in capsys.readouterr().err
    with Project.open(url, readonly=True) as project:
        assert len(project.instances.for_image(1)) == 3


@pytest.mark.slow
def test_a_url_with_a_password_is_refused_and_never_repeated(tmp_path, capsys):
    secret = "postgresql://annotator:hunter2@db.example/cells"
    assert main(["migrate", "--from", str(tmp_path), "--to", secret]) == 1
    err = capsys.readouterr().err
    assert "holds a password" in err and "pgpass" in err and "hunter2" not in err
    assert main(["export", "--project", "postgresql://a@h/db?password=hunter2", "--out", "x.json"]) == 1
    err = capsys.readouterr().err
    assert "holds a password" in err and "hunter2" not in err
