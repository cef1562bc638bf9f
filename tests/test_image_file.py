"""One image-file module below the loader and the store: both read a file's type and orientation from it."""
import numpy as np
import pytest
import tifffile
from PIL import Image

from app import image_file
from app.sam.images import load_image
from app.store.image_files import read_image_size


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_scan_and_the_loader_agree_on_every_exif_orientation(tmp_path, orientation):
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[image_file.EXIF_ORIENTATION] = orientation
    Image.fromarray(np.zeros((24, 40, 3), np.uint8)).save(path, exif=exif)
    loaded = load_image(path)
    assert read_image_size(path) == (loaded.width, loaded.height)
    assert (orientation in image_file.TRANSPOSING_ORIENTATIONS) == ((loaded.width, loaded.height) == (24, 40))


@pytest.mark.parametrize("bigtiff", [False, True])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_every_tiff_flavour_is_known_by_its_first_bytes(tmp_path, bigtiff, byteorder):
    path = tmp_path / "stack.tif"          # a ZYX stack: Pillow alone would read its first page differently
    tifffile.imwrite(path, np.zeros((3, 10, 16), np.uint16), bigtiff=bigtiff, byteorder=byteorder,
                     photometric="minisblack")
    assert image_file.is_tiff(path.read_bytes()[:4])
    assert read_image_size(path) == (16, 10) == (load_image(path).width, load_image(path).height)


def test_a_png_is_no_tiff():
    assert not image_file.is_tiff(b"\x89PNG")
