"""Labels, instances, adapter versions and training runs of a project."""
import hashlib

import cv2
import numpy as np
import pytest

from app.store import ImageStatus, InstanceSource, LabelInUseError, MaskError, NotFoundError, RunStatus, StoreError
from app.store.masks import mask_to_rle


@pytest.fixture
def project(backend, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((6, 9), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((7, 5), np.uint8))
    with backend.open(tmp_path, create=True) as project:
        project.images.scan()
        yield project


def mask(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def image_named(project, name):
    return project.images.find(name)


def test_labels_add_rename_recolour_reorder(project):
    cell = project.labels.add("cell")
    nucleus = project.labels.add(" nucleus ", "#00FF00")
    assert (nucleus.name, nucleus.colour, nucleus.position) == ("nucleus", "#00ff00", 1)
    assert cell.colour != nucleus.colour
    with pytest.raises(StoreError, match="already a label named 'cell'"):
        project.labels.add("cell")
    with pytest.raises(StoreError, match="already a label named 'cell'"):
        project.labels.rename(nucleus.id, "cell")
    with pytest.raises(ValueError, match="#rrggbb"):
        project.labels.recolour(cell.id, "red")
    assert project.labels.rename(cell.id, "membrane").name == "membrane"
    assert project.labels.recolour(cell.id, "#123456").colour == "#123456"
    assert [label.name for label in project.labels.reorder([nucleus.id, cell.id])] == ["nucleus", "membrane"]
    with pytest.raises(ValueError, match="every label id exactly once"):
        project.labels.reorder([nucleus.id])
    with pytest.raises(NotFoundError):
        project.labels.rename(999, "x")


def test_deleting_a_label_never_drops_its_instances_silently(project):
    a, b = image_named(project, "a.png"), image_named(project, "b.png")
    cell, nucleus, spare = (project.labels.add(n) for n in ("cell", "nucleus", "spare"))
    first = project.instances.add(a.id, cell.id, mask((6, 9), 0, 2, 0, 2))
    second = project.instances.add(b.id, cell.id, mask((7, 5), 1, 3, 1, 3))
    with pytest.raises(LabelInUseError, match="'cell' still has 2 instance"):
        project.labels.delete(cell.id)
    project.labels.delete(cell.id, move_instances_to=nucleus.id)
    assert {project.instances.get(i.id).label_id for i in (first, second)} == {nucleus.id}
    assert [(label.name, label.position) for label in project.labels.list()] == [("nucleus", 0), ("spare", 1)]
    project.labels.delete(nucleus.id, delete_instances=True)
    assert project.instances.counts_per_image() == {a.id: 0, b.id: 0}
    project.labels.delete(spare.id)
    assert project.labels.list() == []


def test_instances_round_trip_and_check_the_mask(project):
    a = image_named(project, "a.png")
    label = project.labels.add("cell")
    assert a.status is ImageStatus.NEW
    m = mask((6, 9), 1, 4, 2, 8)
    instance = project.instances.add(a.id, label.id, m)
    assert np.array_equal(instance.mask, m)
    assert instance.mask.flags.c_contiguous and not instance.mask.flags.writeable   # the record cannot drift
    assert (instance.area, instance.bbox, instance.source) == (18, (2, 1, 6, 3), InstanceSource.MODEL)
    assert project.images.get(a.id).status is ImageStatus.IN_PROGRESS
    with pytest.raises(MaskError, match=r"the mask is 5x7 pixels but image a.png is 9x6"):
        project.instances.add(a.id, label.id, np.ones((7, 5), bool))
    with pytest.raises(MaskError, match="2-D bool array; got a uint8"):
        project.instances.add(a.id, label.id, m.astype(np.uint8))
    with pytest.raises(MaskError, match="covers no pixel"):
        project.instances.add(a.id, label.id, np.zeros((6, 9), bool))
    with pytest.raises(NotFoundError, match="no label with id 99"):
        project.instances.add(a.id, 99, m)
    with pytest.raises(NotFoundError, match="no image with id 99"):
        project.instances.add(99, label.id, m)


def test_instances_take_a_mask_as_its_rle_of_the_image_size(project):
    a = image_named(project, "a.png")
    label = project.labels.add("cell")
    m = mask((6, 9), 1, 4, 2, 8)
    rle = mask_to_rle(m)
    instance = project.instances.add(a.id, label.id, {"size": rle["size"], "counts": rle["counts"].encode()})
    assert np.array_equal(instance.mask, m) and instance.rle["counts"] == rle["counts"]
    assert project.instances.update(instance.id, mask=mask_to_rle(~m)).area == 54 - 18
    with pytest.raises(MaskError, match=r"of size \[7, 5\] but image a.png is 9x6"):
        project.instances.add(a.id, label.id, mask_to_rle(np.ones((7, 5), bool)))
    with pytest.raises(MaskError, match="covers no pixel"):
        project.instances.add(a.id, label.id, mask_to_rle(np.zeros((6, 9), bool)))


def test_update_delete_query_and_counts(project):
    a, b = image_named(project, "a.png"), image_named(project, "b.png")
    cell, nucleus = project.labels.add("cell"), project.labels.add("nucleus")
    one = project.instances.add(a.id, cell.id, mask((6, 9), 0, 1, 0, 1))
    two = project.instances.add(a.id, cell.id, mask((6, 9), 5, 6, 8, 9), InstanceSource.CORRECTED)
    edited = mask((6, 9), 0, 3, 0, 3)
    updated = project.instances.update(one.id, mask=edited, label_id=nucleus.id, source="corrected")
    assert np.array_equal(updated.mask, edited)
    assert (updated.label_id, updated.source, updated.area, updated.bbox) == (nucleus.id, InstanceSource.CORRECTED,
                                                                             9, (0, 0, 3, 3))
    assert updated.created_at == one.created_at and updated.updated_at >= one.updated_at
    assert [i.id for i in project.instances.for_image(a.id)] == [one.id, two.id]
    assert project.instances.counts_per_image() == {a.id: 2, b.id: 0}
    project.instances.delete(two.id)
    with pytest.raises(NotFoundError):
        project.instances.delete(two.id)
    assert project.instances.counts_per_image() == {a.id: 1, b.id: 0}
    assert project.images.set_status(a.id, "done").status is ImageStatus.DONE
    project.instances.add(a.id, cell.id, mask((6, 9), 2, 3, 2, 3))
    assert project.images.get(a.id).status is ImageStatus.DONE   # only 'new' images move on by themselves


def test_adapter_versions_one_active_or_none(project):
    assert project.adapters.active() is None
    files = []
    for n in range(2):
        path = project.adapters_dir / f"v{n}.safetensors"
        path.write_bytes(b"weights")
        files.append(path)
    run = project.training_runs.start({"steps": 10})
    first = project.adapters.add(files[0], "vit_t", {"rank": 8}, {"iou": 0.8}, training_run_id=run.id)
    second = project.adapters.add(".mopeft/adapters/v1.safetensors", "vit_t", {}, {})
    assert first.path == ".mopeft/adapters/v0.safetensors" and not first.active
    assert project.path_of(first.path) == files[0]
    assert (first.config, first.metrics, first.training_run_id) == ({"rank": 8}, {"iou": 0.8}, run.id)
    assert project.adapters.set_active(first.id).id == first.id
    assert project.adapters.set_active(second.id).id == second.id
    assert [v.active for v in project.adapters.list()] == [False, True]
    assert project.adapters.set_active(None) is None
    assert project.adapters.active() is None
    with pytest.raises(StoreError, match="no such adapter file"):
        project.adapters.add(project.adapters_dir / "missing.safetensors", "vit_t", {}, {})
    with pytest.raises(NotFoundError):
        project.adapters.set_active(999)


def test_an_adapter_file_is_used_only_while_it_matches_its_checksum(project):
    path = project.adapters_dir / "v.safetensors"
    path.write_bytes(b"weights")
    version = project.adapters.add(path, "vit_t", {}, {})
    assert version.sha256 == hashlib.sha256(b"weights").hexdigest()
    assert project.adapters.file(version) == path
    path.write_bytes(b"other weights")          # another client's copy, changed or half written
    with pytest.raises(StoreError, match="does not match the checksum"):
        project.adapters.file(version)
    path.unlink()
    with pytest.raises(StoreError, match="cannot read"):
        project.adapters.file(version)


def test_training_runs_start_finish_and_interrupted_on_reopening(project, backend, tmp_path):
    done = project.training_runs.start({"lr": 1e-4})
    assert done.status is RunStatus.RUNNING and done.finished_at is None
    finished = project.training_runs.finish(done.id, RunStatus.FINISHED, {"loss": 0.1})
    assert (finished.status, finished.summary) == (RunStatus.FINISHED, {"loss": 0.1})
    with pytest.raises(StoreError, match="already ended"):
        project.training_runs.finish(done.id, "failed", {})
    with pytest.raises(ValueError):
        project.training_runs.finish(done.id, "running", {})
    left_running = project.training_runs.start({})
    project.close()
    with backend.open(tmp_path) as reopened:
        # a folder's writer lock says the run's process is gone; on a shared server another client may be training
        left = RunStatus.INTERRUPTED if backend.sqlite else RunStatus.RUNNING
        assert reopened.training_runs.get(left_running.id).status is left
        assert reopened.training_runs.get(done.id).status is RunStatus.FINISHED
