"""`Project.created` and `remove_if_empty()`: undoing a project made for a command that then failed."""
import cv2
import numpy as np
import pytest

from app.store import ProjectNotFoundError, ReadOnlyProjectError


def test_an_empty_new_project_is_removed_and_leaves_the_images_alone(backend, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 10), np.uint8))
    project = backend.open(tmp_path, create=True)
    assert project.created
    project.remove_if_empty()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    project.close()                                       # closing again is harmless
    with pytest.raises(ProjectNotFoundError, match="holds no MoPEFT project"):   # PostgreSQL: the tables are gone
        backend.open(tmp_path)


def test_a_project_holding_anything_is_kept(backend, tmp_path):
    with backend.open(tmp_path, create=True) as project:
        project.labels.add("cell")
    with backend.open(tmp_path, create=True) as project:
        assert not project.created
        project.remove_if_empty()
    with backend.open(tmp_path, readonly=True) as project:
        assert [label.name for label in project.labels.list()] == ["cell"]
        with pytest.raises(ReadOnlyProjectError):
            project.remove_if_empty()
    with backend.open(tmp_path) as project:
        project.labels.delete(project.labels.find("cell").id)
        (project.adapters_dir / "a.safetensors").write_bytes(b"x")   # an adapter file counts too
        project.remove_if_empty()
    with backend.open(tmp_path, readonly=True) as project:
        assert project.labels.list() == []
