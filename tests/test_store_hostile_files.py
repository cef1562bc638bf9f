"""Files a hostile or careless user leaves in a project folder: odd names. None may stop the project opening."""
import os

import cv2
import numpy as np

from app.store import Project


def write_png(path, height=4, width=5, value=0):
    """Write a grey PNG at `path` (str or bytes: bytes allow names that are not UTF-8)."""
    ok, data = cv2.imencode(".png", np.full((height, width), value, np.uint8))
    with open(path, "wb") as f:
        f.write(data.tobytes())


def test_names_that_are_not_utf8_are_left_out_by_name_and_the_rest_is_added(tmp_path):
    folder = os.fsencode(tmp_path)
    write_png(tmp_path / "good.png")
    write_png(folder + b"/bad\xff.png", value=1)
    os.mkdir(folder + b"/dir\xfe")
    write_png(folder + b"/dir\xfe/inside.png", value=2)
    with Project.open(tmp_path, create=True) as project:
        scan = project.images.scan()
        assert [image.path for image in scan.added] == ["good.png"]
        assert [name for name, _ in scan.skipped] == ["bad\\xff.png", "dir\\xfe"]
        assert all("not valid UTF-8" in reason for _, reason in scan.skipped)
        assert project.images.verify().ok
    with Project.open(tmp_path) as again:          # reopening and rescanning work too
        assert [image.path for image in again.images.list()] == ["good.png"]
        assert again.images.scan().added == []
