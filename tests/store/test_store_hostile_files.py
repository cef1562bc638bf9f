"""Files a hostile or careless user leaves in a project folder: odd names, huge images. None may stop the project opening."""
import os
import struct
import zlib

import pytest

from app.sam.images import MAX_PIXELS_ENV, ImageLoadError, load_image
from png_files import write_png


def test_names_that_are_not_utf8_are_left_out_by_name_and_the_rest_is_added(backend, tmp_path):
    folder = os.fsencode(tmp_path)
    write_png(tmp_path / "good.png")
    write_png(folder + b"/bad\xff.png", value=1)
    os.mkdir(folder + b"/dir\xfe")
    write_png(folder + b"/dir\xfe/inside.png", value=2)
    with backend.open(tmp_path, create=True) as project:
        scan = project.images.scan()
        assert [image.path for image in scan.added] == ["good.png"]
        assert [name for name, _ in scan.skipped] == ["bad\\xff.png", "dir\\xfe"]
        assert all("not valid UTF-8" in reason for _, reason in scan.skipped)
        assert project.images.verify().ok
    with backend.open(tmp_path) as again:          # reopening and rescanning work too
        assert [image.path for image in again.images.list()] == ["good.png"]
        assert again.images.scan().added == []


def big_blank_png(path, width, height):
    """A valid 1-bit PNG of width x height (small on disk, built without allocating the pixels)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)          # filter byte + packed bits
    pixels = zlib.compressobj()
    body = b"".join(pixels.compress(row) for _ in range(height)) + pixels.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.mark.slow
def test_the_scan_and_the_loader_keep_one_pixel_limit(backend, tmp_path, monkeypatch):
    big_blank_png(tmp_path / "big.png", 15000, 15000)     # 225 MP: above Pillow's bomb check, below ours
    write_png(tmp_path / "small.png", 100, 100)
    with backend.open(tmp_path, create=True) as project:
        scan = project.images.scan()
        assert [(i.path, i.width, i.height) for i in scan.added] == [("big.png", 15000, 15000),
                                                                     ("small.png", 100, 100)]
        assert scan.skipped == []
    monkeypatch.setenv(MAX_PIXELS_ENV, "9999")            # the user's own limit reaches the scan too
    write_png(tmp_path / "other.png", 100, 100, 1)
    with backend.open(tmp_path) as project:
        ((name, reason),) = project.images.scan().skipped
    with pytest.raises(ImageLoadError) as refused:
        load_image(tmp_path / "other.png")
    assert name == "other.png" and reason in str(refused.value) and "above the limit" in reason


def test_symbolic_links_to_outside_the_folder_are_listed_not_followed_unless_asked(backend, tmp_path):
    project_dir, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project_dir.mkdir(), (elsewhere / "more").mkdir(parents=True)
    write_png(project_dir / "own.png")
    write_png(elsewhere / "secret.png", value=1)
    write_png(elsewhere / "more" / "deep.png", value=2)
    (project_dir / "link.png").symlink_to(elsewhere / "secret.png")
    (project_dir / "linked_dir").symlink_to(elsewhere / "more")
    (project_dir / "alias.png").symlink_to("own.png")            # inside: fine, it is the project's own file
    (project_dir / "loop").symlink_to(".")                        # inside: not entered, no second walk
    with backend.open(project_dir, create=True) as project:
        scan = project.images.scan()
        assert [i.path for i in scan.added] == ["alias.png", "own.png"]
        assert [name for name, _ in scan.skipped] == ["link.png", "linked_dir"]
        assert all("outside the project folder" in r and "--follow-links" in r for _, r in scan.skipped)
        assert str(elsewhere / "secret.png") in scan.skipped[0][1]
        followed = project.images.scan(follow_links=True)
        assert [i.path for i in followed.added] == ["link.png", "linked_dir/deep.png"] and followed.skipped == []
