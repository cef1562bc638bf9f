"""Scanning a folder for images, reading their sizes, and catching images changed or moved on disk."""
import shutil

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image as PilImage

from app.sam.images import load_image
from app.store import ImageFileError, StoreError
from app.store.image_files import PNG_EXPORT_LEGEND, read_image_size


def write_png(path, height, width, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width), value, np.uint8))


def test_scan_is_recursive_and_skips_hidden_folders_exports_and_broken_files(backend, tmp_path):
    write_png(tmp_path / "a.png", 4, 5)
    write_png(tmp_path / "sub" / "deeper" / "b.PNG", 6, 7, 1)
    write_png(tmp_path / ".hidden" / "c.png", 4, 4)
    write_png(tmp_path / "masks" / "instances" / "a.png", 4, 5)
    (tmp_path / "masks" / PNG_EXPORT_LEGEND).write_text("{}")
    (tmp_path / "._a.png").write_bytes(b"macOS metadata")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with backend.open(tmp_path, create=True) as project:
        result = project.images.scan()
        assert [(i.path, i.width, i.height) for i in result.added] == [("a.png", 5, 4), ("sub/deeper/b.PNG", 7, 6)]
        assert [path for path, _ in result.skipped] == ["broken.jpg"]
        assert "cannot read the image size" in result.skipped[0][1]
        assert project.images.scan().added == []
        assert [i.path for i in project.images.list()] == ["a.png", "sub/deeper/b.PNG"]
        assert project.images.add(tmp_path / "a.png").id == result.added[0].id
        with pytest.raises(ImageFileError, match="not inside the project folder"):
            project.images.add(tmp_path.parent / "elsewhere.png")
        with pytest.raises(ImageFileError, match="no such file"):
            project.images.add("missing.png")


def test_sizes_of_tiff_stacks_and_exif_rotated_jpegs(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((30, 40, 3), np.uint8))
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((5, 30, 40), np.uint16))
    tifffile.imwrite(tmp_path / "float.tiff", np.zeros((30, 40), np.float32))
    exif = PilImage.Exif()
    exif[0x0112] = 6                     # rotate 90 degrees on display
    PilImage.new("RGB", (40, 30)).save(tmp_path / "rotated.jpg", exif=exif)
    for name in ("rgb.tif", "stack.tif", "float.tiff"):
        assert read_image_size(tmp_path / name) == (40, 30)
    assert read_image_size(tmp_path / "rotated.jpg") == (30, 40)
    for path in tmp_path.iterdir():     # masks are checked against these sizes: the loader must agree
        loaded = load_image(path)
        assert read_image_size(path) == (loaded.width, loaded.height)


def test_changed_missing_and_moved_images_are_reported_not_matched(backend, tmp_path):
    for name, value in (("a.png", 1), ("b.png", 2), ("c.png", 3)):
        write_png(tmp_path / name, 4, 5, value)
    with backend.open(tmp_path, create=True) as project:
        project.images.scan()
        assert project.images.verify().ok
        write_png(tmp_path / "a.png", 4, 5, 9)                       # changed in place
        (tmp_path / "sub").mkdir()
        shutil.move(tmp_path / "b.png", tmp_path / "sub" / "b.png")  # moved
        (tmp_path / "c.png").unlink()                                # gone
        scan = project.images.scan()
        assert scan.added == [] and scan.skipped[0][0] == "sub/b.png" and "moved?" in scan.skipped[0][1]
        check = project.images.verify()
        assert not check.ok
        assert [i.path for i in check.changed] == ["a.png"]
        assert [(m.image.path, m.new_path) for m in check.moved] == [("b.png", "sub/b.png")]
        assert [i.path for i in check.missing] == ["c.png"]

        b = project.images.relocate(check.moved[0].image.id, "sub/b.png")
        assert b.path == "sub/b.png"
        write_png(tmp_path / "sub" / "x.png", 4, 5, 7)
        with pytest.raises(ImageFileError, match="does not hold the content recorded for a.png"):
            project.images.relocate(check.changed[0].id, "sub/x.png")
        with pytest.raises(StoreError, match="sub/b.png is already registered as image"):
            project.images.relocate(check.changed[0].id, "sub/b.png")
        project.images.accept_change(check.changed[0].id)
        write_png(tmp_path / "c.png", 8, 8, 3)
        check = project.images.verify()
        assert ([i.path for i in check.changed], check.moved, check.missing) == (["c.png"], [], [])
        with pytest.raises(ImageFileError, match="is now 8x8 pixels, no longer 5x4"):
            project.images.accept_change(check.changed[0].id)


def test_a_large_tiff_read_region_by_region_is_not_held_to_the_pixel_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("MOPEFT_MAX_IMAGE_PIXELS", str(1000 * 1000))
    tifffile.imwrite(tmp_path / "slide.tif", np.zeros((2000, 3000, 3), np.uint8), tile=(256, 256))
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((3, 2000, 3000), np.uint8), tile=(256, 256),
                     photometric="minisblack")
    write_png(tmp_path / "big.png", 2000, 3000)
    assert read_image_size(tmp_path / "slide.tif") == (3000, 2000)
    for name in ("stack.tif", "big.png"):           # decoded whole: the limit holds
        with pytest.raises(ImageFileError, match="above the limit"):
            read_image_size(tmp_path / name)
