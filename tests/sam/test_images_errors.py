"""Bad image files fail with ImageLoadError naming the file; huge images are refused from the header alone."""
import struct
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile

from app.sam.images import MAX_IMAGE_PIXELS, MAX_PIXELS_ENV, ImageLoadError, image_from_array, load_image


def _png_bytes(tmp_path, pixels: np.ndarray, name: str) -> bytes:
    Image.fromarray(pixels).save(tmp_path / name)
    return (tmp_path / name).read_bytes()


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ImageLoadError, match="no such image file"):
        load_image(tmp_path / "absent.png")
    (tmp_path / "empty.png").touch()
    with pytest.raises(ImageLoadError, match="empty") as exc:
        load_image(tmp_path / "empty.png")
    assert str(tmp_path / "empty.png") in str(exc.value)


def test_files_that_are_not_images(tmp_path, rng):
    (tmp_path / "noise.png").write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    (tmp_path / "notes.jpg").write_text("not a picture")
    for name in ("noise.png", "notes.jpg"):
        with pytest.raises(ImageLoadError, match="cannot read the image") as exc:
            load_image(tmp_path / name)
        assert str(tmp_path / name) in str(exc.value)


@pytest.mark.parametrize("kind", ["png", "png16", "jpg", "tif"])
def test_truncated_files_are_refused(tmp_path, rng, kind):
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = tmp_path / f"whole.{kind[:3]}"
    if kind == "tif":
        tifffile.imwrite(whole, pixels, photometric="rgb")
    elif kind == "png16":
        cv2.imwrite(str(whole), pixels.astype(np.uint16) * 257)
    else:
        Image.fromarray(pixels).save(whole)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{kind[:3]}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as exc:
        load_image(cut)
    assert str(cut) in str(exc.value)


def test_array_of_the_wrong_shape_is_refused():
    with pytest.raises(ImageLoadError, match=r"H x W or H x W x C.*\(2, 3, 4, 5\)"):
        image_from_array(np.zeros((2, 3, 4, 5), np.uint8))
    with pytest.raises(ImageLoadError, match="empty"):
        image_from_array(np.zeros((0, 4), np.uint16))


def _huge_tiff(path):
    """A valid zlib-tiled TIFF of 20000 x 20000 that takes about 400 KB: one blank tile, encoded once."""
    side, tile = 20_000, 2048
    encoded = zlib.compress(bytes(tile * tile), 9)
    tiles = (encoded for _ in range((-(-side // tile)) ** 2))
    tifffile.imwrite(path, tiles, shape=(side, side), dtype=np.uint8, tile=(tile, tile), compression="zlib")


def _huge_png(path):
    """A valid 1-bit PNG of 20000 x 20000 that takes about 50 KB."""
    side = 20_000
    packer = zlib.compressobj(9)
    row = bytes(1 + side // 8)  # filter byte, then 2,500 bytes of 8 pixels each
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


@pytest.mark.parametrize("make", [_huge_tiff, _huge_png], ids=["tiled_tiff", "png"])
@pytest.mark.slow
def test_huge_image_is_refused_from_its_header_without_decoding(tmp_path, monkeypatch, make):
    path = tmp_path / ("huge.tif" if make is _huge_tiff else "huge.png")
    make(path)
    assert path.stat().st_size < 3_000_000

    def no_decoding(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(tifffile.TiffFile, "asarray", no_decoding)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    tracemalloc.start()
    try:
        with pytest.raises(ImageLoadError) as exc:
            load_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(exc.value)
    assert str(path) in message and "20000 x 20000" in message
    assert f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP" in message and "tile" in message
    assert peak < 10_000_000
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own guard is back in place


def test_pixel_limit_can_be_changed(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(ImageLoadError, match="100 x 100"):
        load_image(tmp_path / "a.png", max_pixels=9_999)
    monkeypatch.setenv(MAX_PIXELS_ENV, "9999")
    with pytest.raises(ImageLoadError, match="above the limit"):
        load_image(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png", max_pixels=10_000).width == 100
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ValueError, match=MAX_PIXELS_ENV):
        load_image(tmp_path / "a.png")
