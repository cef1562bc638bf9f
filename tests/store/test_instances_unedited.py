"""Instances accepted unedited (SAM's mask for one prompt, as it came): recorded at accept, migrated, counted,
and left out of training on request (`collect_examples(skip_unedited=True)`, `mopeft train --skip-unedited`)."""
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession, Stroke
from app.annotate.demo_project import generated_image
from app.cli.main import main
from app.sam.engine import Prediction
from app.store import InstanceSource, Project, schema
from app.training.finetune.examples import collect_examples
from toy_shapes import write_toy_project
from fixture_paths import TINY_SAM as FIXTURE



def _prediction(h: int, w: int, candidates: int) -> Prediction:
    """A stand-in for SAM: `candidates` nested squares, the first scored best."""
    masks = np.zeros((candidates, h, w), dtype=bool)
    for k in range(candidates):
        masks[k, 10:30 + 5 * k, 10:30 + 5 * k] = True
    scores = np.linspace(0.9, 0.5, candidates).astype(np.float32)
    return Prediction(masks, scores, np.zeros((candidates, 32, 32), dtype=np.float32))


@pytest.fixture
def session(backend, tmp_path):
    for i in range(2):
        PILImage.fromarray(generated_image(i, (96, 64))).save(tmp_path / f"img{i}.png")
    project = backend.open(tmp_path, create=True)
    project.images.scan()
    session = AnnotationSession(project)

    def answer(request):
        h, w = session.image.height, session.image.width
        session.prediction_ready(request, _prediction(h, w, 3 if request.multimask else 1))

    session.predict_requested.connect(answer)
    session.open_image(session.images()[0].id)
    yield session
    project.close()


def _accepted(session, *edits) -> bool | None:
    for edit in edits:
        edit()
    return session.accept().unedited


def test_accept_records_whether_sams_mask_was_taken_as_it_came(session):
    s = session
    assert _accepted(s, lambda: s.add_point(20, 20)) is True
    assert _accepted(s, lambda: s.set_box(5, 5, 40, 40)) is True
    assert _accepted(s, lambda: s.add_point(20, 20), s.cycle_candidate) is True  # another of SAM's own masks
    assert _accepted(s, lambda: s.add_point(20, 20), lambda: s.add_point(50, 50, positive=False)) is False
    assert _accepted(s, lambda: s.set_box(5, 5, 40, 40), lambda: s.add_point(20, 20)) is False
    assert _accepted(s, lambda: s.add_point(20, 20), lambda: s.paint(Stroke(((60.0, 40.0),), 3.0))) is False
    assert _accepted(s, lambda: s.paint(Stroke(((60.0, 40.0),), 3.0))) is False
    # a refining click taken back with undo leaves SAM's one-prompt mask
    assert _accepted(s, lambda: s.add_point(20, 20), lambda: s.add_point(50, 50), s.undo) is True
    stored = [i.unedited for i in s.project.instances.for_image(s.image.id)]
    assert stored == [True, True, True, False, False, False, False, True]
    count = s.project.instances.unedited_count()
    assert (count.unedited, count.unknown, count.total) == (4, 0, 8)


def test_the_mark_survives_undo_of_a_delete_and_reopening(session, backend, tmp_path):
    session.add_point(20, 20)
    instance = session.accept()
    session.delete_instance(instance.id)
    session.undo()
    (back,) = session.project.instances.for_image(session.image.id)
    assert back.unedited is True
    session.project.close()
    with backend.open(tmp_path, readonly=True) as again:
        assert again.instances.get(back.id).unedited is True


def test_only_sams_masks_can_be_unedited_and_a_new_mask_ends_it(session):
    table, image = session.project.instances, session.image
    label = session.project.labels.add("cell").id
    mask = _prediction(image.height, image.width, 1).masks[0]
    assert table.add(image.id, label, mask, InstanceSource.IMPORTED, unedited=True).unedited is False
    assert table.add(image.id, label, mask).unedited is None  # the caller did not say
    raw = table.add(image.id, label, mask, unedited=True)
    assert table.update(raw.id, label_id=label).unedited is True
    assert table.update(raw.id, mask=~mask).unedited is False


def test_instances_from_before_the_migration_are_unknown_unless_not_sams(backend, tmp_path):
    """A schema-1 project (made here with the released step 1) gets the column: corrected and imported
    instances are known not to be unedited, SAM's ones are unknown."""
    PILImage.fromarray(generated_image(0, (64, 48))).save(tmp_path / "a.png")
    folder = tmp_path / "proj"
    folder.mkdir()
    shutil.copy(tmp_path / "a.png", folder / "a.png")
    db = backend.database(folder)
    schema.migrate(db, db.migrations[:1])
    with db.transaction() as conn:
        conn.execute("INSERT INTO images VALUES (1, 'a.png', 64, 48, 'x', 'in_progress', 't')")
        conn.execute("INSERT INTO labels VALUES (1, 'cell', '#ff0000', 0)")
        for i, source in enumerate(("model", "corrected", "imported"), start=1):
            conn.execute(f"INSERT INTO instances VALUES ({i}, 1, 1, '0', 1, 0, 0, 1, 1, '{source}', 't', 't')")
    db.close()
    with backend.open(folder, create=True) as project:     # create: PostgreSQL records the images root
        assert [project.instances.get(i).unedited for i in (1, 2, 3)] == [None, False, False]
        count = project.instances.unedited_count()
        assert (count.unedited, count.unknown, count.total) == (0, 1, 3)
        assert schema.schema_version(project._db) == schema.SCHEMA_VERSION >= 2


def _mark_unedited(project_dir: Path, image_names: set[str]) -> int:
    """Mark every instance of these images as accepted unedited (as the session would have); how many."""
    marked = 0
    with Project.open(project_dir) as project:
        for image in project.images.list():
            if image.path in image_names:
                for instance in project.instances.for_image(image.id):
                    project.instances.delete(instance.id)
                    project.instances.add(image.id, instance.label_id, instance.mask.copy(), unedited=True)
                    marked += 1
    return marked


def test_collect_examples_leaves_out_unedited_instances_only_when_asked(tmp_path):
    folder = write_toy_project(tmp_path / "proj")
    assert _mark_unedited(folder, {"img1.png", "img2.png"}) == 2
    with Project.open(folder, readonly=True) as project:
        everything, warnings = collect_examples(project)
        kept, notes = collect_examples(project, skip_unedited=True)
    assert len(everything) == 5 and warnings == []
    assert sorted(e.name for e in kept) == ["img0.png", "img3.png", "img4.png"]  # unknown ones are kept
    assert notes == ["left out 2 instance(s) accepted unedited (SAM's mask as it came)"]


@pytest.mark.slow
def test_mopeft_train_counts_unedited_instances_and_skips_them_on_request(tmp_path, capsys):
    folder = write_toy_project(tmp_path / "proj")
    _mark_unedited(folder, {"img0.png", "img1.png", "img2.png", "img3.png", "img4.png"})
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    args = ["train", "--project", str(folder), "--model", str(model), "--steps", "1", "--blocks", "last:2"]
    assert main([*args, "--skip-unedited"]) == 2  # nothing left to train on: refused before a run begins
    err = capsys.readouterr().err
    assert "5 of 5 instances were accepted unedited (leaving them out)" in err
    assert "Every accepted instance was accepted unedited" in err
    with Project.open(folder, readonly=True) as project:
        assert project.training_runs.list() == []
    with Project.open(folder, readonly=True) as project:
        assert project.adapters.list() == []
    assert main(args) == 0
    assert "5 of 5 instances were accepted unedited (--skip-unedited leaves them out)" in capsys.readouterr().err
