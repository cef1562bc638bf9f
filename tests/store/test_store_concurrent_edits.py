"""Optimistic concurrency on both backends: an instance change or deletion made from a revision another client has
changed since is refused (nothing changes, theirs stays); the session then drops that undo step, says so and shows
the image as the other annotator left it; on PostgreSQL two handles of one project play the two annotators."""
import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession, Stroke
from app.store import ConcurrentChangeError, NotFoundError


@pytest.fixture
def folder(tmp_path):
    PILImage.new("RGB", (40, 30)).save(tmp_path / "a.png")
    return tmp_path


def square():
    mask = np.zeros((30, 40), bool)
    mask[5:15, 5:15] = True
    return mask


def test_a_change_from_a_stale_revision_is_refused(backend, folder):
    with backend.open(folder, create=True) as project:
        project.images.scan()
        image = project.images.list()[0]
        cell, dirt = project.labels.add("cell"), project.labels.add("dirt")
        seen = project.instances.add(image.id, cell.id, square())
        assert seen.revision == 0
        theirs = project.instances.update(seen.id, label_id=dirt.id, revision=seen.revision)   # another annotator
        assert theirs.revision == 1
        with pytest.raises(ConcurrentChangeError, match=f"changed instance {seen.id} meanwhile"):
            project.instances.update(seen.id, label_id=cell.id, revision=seen.revision)
        with pytest.raises(ConcurrentChangeError):
            project.instances.delete(seen.id, revision=seen.revision)
        kept = project.instances.get(seen.id)
        assert kept.label_id == dirt.id and kept.revision == 1
        project.instances.delete(seen.id, revision=1)
        with pytest.raises(ConcurrentChangeError, match="deleted"):
            project.instances.update(seen.id, label_id=cell.id, revision=1)
        with pytest.raises(NotFoundError):
            project.instances.delete(seen.id)


def one_accepted(project):
    """A session on the project's image with one instance accepted from a brush stroke, and what it has said."""
    project.images.scan()
    session = AnnotationSession(project)
    messages = []
    session.message.connect(messages.append)
    session.open_image(session.images()[0].id)
    session.paint(Stroke(((10.0, 10.0),), 4.0))
    return session, messages, session.accept()


def test_the_session_drops_an_undo_that_would_undo_another_annotators_change(backend, folder):
    with backend.open(folder, create=True) as project:
        other = project if backend.sqlite else backend.open(folder)   # SQLite: one writer, so one handle plays both
        session, messages, mine = one_accepted(project)
        relabel_to = project.labels.add("dirt")
        other.instances.update(mine.id, label_id=relabel_to.id)   # ben relabels ana's instance
        assert session.history.undo_text == "accept instance"
        session.undo()
        assert project.instances.get(mine.id).label_id == relabel_to.id   # not deleted: ben's change stays
        assert session.history.undo_text == "brush stroke" and "changed instance" in messages[-1]   # dropped
        first_label = next(label for label in project.labels.list() if label.id != relabel_to.id)
        session.relabel_instance(mine.id, first_label.id)   # ana relabels it back (from its fresh revision)
        assert project.instances.get(mine.id).label_id == first_label.id
        other.instances.delete(mine.id)                                 # ben deletes it
        session.undo()
        assert "deleted" in messages[-1] and session.instances() == []
        session.delete_instance(mine.id)   # what her instance list still showed
        assert "gone" in messages[-1]
        if other is not project:
            other.close()


def test_ones_own_commands_on_an_instance_undo_and_redo_in_turn(backend, folder):
    """Accept, relabel twice, delete: each step raises the instance's revision, and undoing all of them, then redoing
    all, never takes this session's own earlier step for another annotator's change."""
    with backend.open(folder, create=True) as project:
        session, messages, instance = one_accepted(project)
        dirt, cell = project.labels.add("dirt"), project.labels.add("cell")
        session.relabel_instance(instance.id, dirt.id)
        session.relabel_instance(instance.id, cell.id)
        session.delete_instance(instance.id)
        for _ in range(4):   # the deletion, both relabels, the accept: the draft's stroke is back
            session.undo()
        assert session.instances() == [] and session.draft.strokes and not messages
        for _ in range(4):
            session.redo()
        assert session.instances() == [] and not messages   # redone up to the deletion
        session.undo()
        (back,) = session.instances()
        assert back.label_id == cell.id
