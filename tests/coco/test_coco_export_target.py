"""An export never overwrites the project: not its store folder, not one of its images, and a PNG export never
goes into a folder of its images (the legend would make later scans skip them)."""
import os

import cv2
import numpy as np
import pytest

from app.cli.main import main
from app.coco.errors import CocoError
from app.coco.export import export_coco
from app.coco.png_export import export_png
from app.store import Project
from app.store.image_files import PNG_EXPORT_LEGEND
from coco_projects import make_project


def _tree(folder):
    """Every file under `folder` with its bytes (but SQLite's -wal and -shm files, which any open makes)."""
    return {path: path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.name.endswith(("-wal", "-shm"))}


@pytest.fixture
def project_dir(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    make_project(folder)
    (folder / "sub").mkdir()
    cv2.imwrite(str(folder / "sub" / "b.png"), np.full((10, 10), 7, np.uint8))
    with Project.open(folder) as project:
        project.images.scan()
    return folder


@pytest.mark.parametrize("fmt, out, problem", [
    ("coco", ".mopeft/project.db", "inside the project's store folder"),
    ("coco", ".mopeft/adapters/x.json", "inside the project's store folder"),
    ("coco", "a.png", "is the project's image a.png"),
    ("coco", "sub/b.png", "is the project's image sub/b.png"),
    ("coco", "sub/../a.png", "is the project's image a.png"),
    ("png", ".mopeft", "inside the project's store folder"),
    ("png", ".", "is the project folder itself"),
    ("png", "sub", "holds 1 of the project's images (such as sub/b.png)"),
])
def test_export_refuses_a_target_that_would_overwrite_the_project(project_dir, capsys, fmt, out, problem):
    before = _tree(project_dir)
    target = str(project_dir / out)
    assert main(["export", "--project", str(project_dir), "--format", fmt, "--out", target]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mopeft export: error: {target}: ") and problem in err, err
    assert _tree(project_dir) == before   # nothing written, nothing replaced
    with Project.open(project_dir) as project:
        assert [image.path for image in project.images.list()] == ["a.png", "sub/b.png"]
        assert not project.images.scan().skipped and len(project.images.list()) == 2


def test_a_link_to_an_image_and_a_folder_above_the_project_are_refused(project_dir, tmp_path):
    before = _tree(project_dir)
    link = tmp_path / "link.png"
    os.symlink(project_dir / "a.png", link)
    with Project.open(project_dir, readonly=True) as project:
        with pytest.raises(CocoError, match="is the project's image a.png"):
            export_coco(project, link)
        with pytest.raises(CocoError, match="holds 2 of the project's images"):
            export_png(project, tmp_path)   # the project folder lies inside this one
    assert not (tmp_path / PNG_EXPORT_LEGEND).exists() and _tree(project_dir) == before


def test_exports_inside_the_project_folder_but_clear_of_its_files_are_written(project_dir, capsys):
    assert main(["export", "--project", str(project_dir), "--out", str(project_dir / "annotations.json")]) == 0
    assert main(["export", "--project", str(project_dir), "--format", "png", "--out", str(project_dir / "masks")]) == 0
    assert (project_dir / "annotations.json").is_file() and (project_dir / "masks" / PNG_EXPORT_LEGEND).is_file()
    with Project.open(project_dir) as project:   # the masks are not taken for images to annotate
        project.images.scan()
        assert [image.path for image in project.images.list()] == ["a.png", "sub/b.png"]
