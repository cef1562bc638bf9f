"""A project open read-only: prompts and drafts work, every change is refused with a message, nothing raises."""
import numpy as np
import pytest
from PIL import Image as PILImage

from app.annotate import AnnotationSession, Stroke
from app.annotate.project_opening import open_for_annotation
from app.store import ImageStatus, Project, ProjectNotFoundError
from mounts import remount_readonly, tmpfs


def _project_with_one_instance(folder):
    PILImage.fromarray(np.full((30, 40), 90, np.uint8)).save(folder / "a.png")
    with Project.open(folder, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        project.labels.add("other")
        mask = np.zeros((30, 40), bool)
        mask[5:10, 5:10] = True
        return project.instances.add(project.images.list()[0].id, label.id, mask).id


def test_every_change_is_refused_with_a_message_on_a_read_only_project(tmp_path):
    instance_id = _project_with_one_instance(tmp_path)
    with Project.open(tmp_path, readonly=True) as project:
        session = AnnotationSession(project)
        errors = []
        session.error.connect(errors.append)
        session.open_image(session.images()[0].id)
        session.paint(Stroke(((20.0, 20.0), (30.0, 20.0)), 3.0))
        assert session.draft_mask.any()                  # drafting works
        assert session.accept() is None
        assert session.toggle_done() is None
        session.delete_instance(instance_id)
        session.relabel_instance(instance_id, project.labels.list()[1].id)
        assert len(errors) == 4 and all("read-only" in e and "browse and export only" in e for e in errors)
        assert [i.id for i in session.instances()] == [instance_id]
        assert project.images.list()[0].status == ImageStatus.IN_PROGRESS


def test_a_read_only_medium_opens_read_only_for_annotation(tmp_path):
    with tmpfs(tmp_path / "medium") as medium:
        instance_id = _project_with_one_instance(medium)
        remount_readonly(medium)
        opened = open_for_annotation(medium)
        with opened.project as project:
            assert project.readonly and [i.id for i in project.instances.for_image(1)] == [instance_id]
            (problem,) = opened.problems
            assert problem.startswith("read-only:") and "browse and export only" in problem
    with tmpfs(tmp_path / "blank") as blank:      # a read-only folder without a project: nothing to open
        remount_readonly(blank)
        with pytest.raises(Exception, match="read-only") as refused:
            open_for_annotation(blank)
        assert not isinstance(refused.value, ProjectNotFoundError)
