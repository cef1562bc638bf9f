"""Automatic proposals in the store: replacing an image's pending ones, accepting (an instance that links it),
rejecting, stale after another adapter version becomes active, and the migration from schema version 3."""
import numpy as np
import pytest
from PIL import Image as PILImage

from app.store import MaskError, ProposalState, StoreError, schema
from app.store.masks import mask_to_rle
from proposal_records import Proposed, square_mask

H, W = 48, 64


def proposed(top: int, left: int, iou: float) -> Proposed:
    return Proposed.of_mask(square_mask((H, W), top, left), iou, 0.97, (left + 5.0, top + 5.0))


@pytest.fixture
def project(backend, tmp_path):
    PILImage.new("RGB", (W, H)).save(tmp_path / "a.png")
    PILImage.new("RGB", (W, H)).save(tmp_path / "b.png")
    with backend.open(tmp_path, create=True) as project:
        project.images.scan()
        project.labels.add("cell")
        yield project


def ids(project):
    return {image.path: image.id for image in project.images.list()}


def add_version(project, name: str):
    path = project.adapters_dir / name
    path.write_bytes(b"x")
    return project.adapters.add(path, "demo", {}, {})


def test_replace_stores_scores_point_and_maker_best_first(project):
    a = ids(project)["a.png"]
    stored = project.proposals.replace_pending(a, [proposed(0, 0, 0.8), proposed(20, 30, 0.95)], "demo")
    assert [p.predicted_iou for p in stored] == [0.95, 0.8]
    best = stored[0]
    assert (best.area, best.bbox, best.point, best.stability) == (100, (30, 20, 10, 10), (35.0, 25.0), 0.97)
    assert (best.model, best.adapter_version_id, best.state, best.instance_id, best.stale) == \
        ("demo", None, ProposalState.PENDING, None, False)
    assert np.array_equal(best.mask, square_mask((H, W), 20, 30))
    assert project.proposals.pending_counts() == {a: 2, ids(project)["b.png"]: 0}


def test_replacing_drops_only_the_pending_ones_in_one_transaction(project):
    a = ids(project)["a.png"]
    first = project.proposals.replace_pending(a, [proposed(0, 0, 0.9), proposed(20, 0, 0.8), proposed(0, 30, 0.7)],
                                              "demo")
    label = project.labels.list()[0].id
    project.instances.add(a, label, first[0].mask.copy(), unedited=True, proposal_id=first[0].id)
    project.proposals.set_state([first[1].id], ProposalState.REJECTED)
    with pytest.raises(MaskError, match="a.png"):   # a mask of another size: nothing changes
        project.proposals.replace_pending(a, [proposed(5, 5, 0.5), Proposed.of_mask(square_mask((9, 9), 0, 0),
                                                                                    0.5, 0.5, (1, 1))], "demo")
    assert len(project.proposals.for_image(a, "pending")) == 1
    project.proposals.replace_pending(a, [proposed(5, 5, 0.5)], "demo")
    states = {p.id: p.state for p in project.proposals.for_image(a)}
    assert states[first[0].id] is ProposalState.ACCEPTED and states[first[1].id] is ProposalState.REJECTED
    assert first[2].id not in states and len(states) == 3


def test_accepting_links_the_instance_and_deleting_it_rejects(project, backend, tmp_path):
    a = ids(project)["a.png"]
    (p,) = project.proposals.replace_pending(a, [proposed(0, 0, 0.9)], "demo")
    label = project.labels.list()[0].id
    instance = project.instances.add(a, label, p.mask.copy(), unedited=True, proposal_id=p.id)
    assert (instance.proposal_id, instance.unedited) == (p.id, True)
    assert project.proposals.get(p.id).state is ProposalState.ACCEPTED
    assert project.proposals.get(p.id).instance_id == instance.id
    with pytest.raises(StoreError, match="already been accepted"):
        project.instances.add(a, label, p.mask.copy(), proposal_id=p.id)
    with pytest.raises(StoreError, match="delete the instance"):
        project.proposals.set_state([p.id], "rejected")
    with pytest.raises(ValueError, match="proposal_id"):
        project.proposals.set_state([p.id], "accepted")
    project.close()
    with backend.open(tmp_path) as reopened:
        assert reopened.instances.get(instance.id).proposal_id == p.id
        reopened.instances.delete(instance.id)
        assert (reopened.proposals.get(p.id).state, reopened.proposals.get(p.id).instance_id) == \
            (ProposalState.REJECTED, None)
        reopened.proposals.set_state([p.id], "pending")
        assert reopened.proposals.get(p.id).state is ProposalState.PENDING


def test_a_label_deleted_with_its_instances_rejects_their_proposals(project):
    a = ids(project)["a.png"]
    (p,) = project.proposals.replace_pending(a, [proposed(0, 0, 0.9)], "demo")
    label = project.labels.list()[0].id
    project.instances.add(a, label, p.mask.copy(), proposal_id=p.id)
    project.labels.delete(label, delete_instances=True)
    assert project.proposals.get(p.id).state is ProposalState.REJECTED


def test_an_instance_cannot_link_a_proposal_of_another_image(project):
    paths = ids(project)
    (p,) = project.proposals.replace_pending(paths["a.png"], [proposed(0, 0, 0.9)], "demo")
    with pytest.raises(StoreError, match="no proposal"):
        project.instances.add(paths["b.png"], project.labels.list()[0].id, p.mask.copy(), proposal_id=p.id)


def test_pending_proposals_of_another_version_are_stale_until_made_again(project):
    a, b = ids(project)["a.png"], ids(project)["b.png"]
    v1 = add_version(project, "v1.safetensors")
    project.adapters.set_active(v1.id)
    project.proposals.replace_pending(a, [proposed(0, 0, 0.9)], "demo", v1.id)
    project.proposals.replace_pending(b, [proposed(0, 0, 0.9), proposed(20, 20, 0.6)], "demo", v1.id)
    project.proposals.set_state([project.proposals.for_image(b)[1].id], "rejected")
    assert project.proposals.stale() == []
    v2 = add_version(project, "v2.safetensors")
    project.adapters.set_active(v2.id)
    stale = project.proposals.stale()
    assert [p.image_id for p in stale] == [a, b] and all(p.stale for p in stale)
    assert not project.proposals.for_image(b, "rejected")[0].stale     # only pending ones are stale
    project.proposals.replace_pending(a, [proposed(5, 5, 0.8)], "demo", v2.id)    # redone with the new version
    assert [p.image_id for p in project.proposals.stale()] == [b]
    project.adapters.set_active(None)    # the base model: the adapter-made ones are all stale
    assert {p.image_id for p in project.proposals.stale()} == {a, b}
    assert project.proposals.stale(a)[0].adapter_version_id == v2.id


def test_a_schema_3_project_upgrades_keeping_its_rows(backend, tmp_path):
    """A project made with the released steps 1-3 gets the proposals table; its instances keep id and data."""
    folder = tmp_path / "proj"
    folder.mkdir()
    PILImage.new("RGB", (W, H)).save(folder / "a.png")
    db = backend.database(folder)
    schema.migrate(db, db.migrations[:3])
    counts = mask_to_rle(square_mask((H, W), 0, 0))["counts"]
    with db.transaction() as conn:
        conn.execute("INSERT INTO images VALUES (7, 'a.png', ?, ?, 'x', 'in_progress', 't')", (W, H))
        conn.execute("INSERT INTO labels VALUES (1, 'cell', '#ff0000', 0)")
        conn.execute("INSERT INTO instances VALUES (5, 7, 1, ?, 100, 0, 0, 10, 10, 'model', 't', 't', 1)", (counts,))
    db.close()
    with backend.open(folder, create=True) as project:     # create: PostgreSQL records the images root
        assert not project.created
        instance = project.instances.get(5)
        assert (instance.image_id, instance.area, instance.unedited, instance.proposal_id) == (7, 100, True, None)
        (p,) = project.proposals.replace_pending(7, [proposed(20, 20, 0.9)], "vit_b")
        project.instances.add(7, 1, p.mask.copy(), proposal_id=p.id)
        assert project.proposals.get(p.id).state is ProposalState.ACCEPTED
        assert schema.schema_version(project._db) == schema.SCHEMA_VERSION
