"""load_image on every supported file type, made here, against the written pixels or Pillow's own reading."""
import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from app.sam.images import image_from_array, load_image


def _stretched(values: np.ndarray) -> np.ndarray:
    """Reference 0.5-99.5 % stretch on the full array."""
    lo, hi = np.nanpercentile(values.astype(np.float64), [0.5, 99.5])
    return np.clip(np.rint((values - lo) / (hi - lo) * 255), 0, 255)


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    return np.abs(got.astype(np.int16) - want.astype(np.int16)).max() <= 1


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_png_rgb_8bit_is_returned_unchanged(tmp_path, rng):
    pixels = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert np.array_equal(image.rgb, pixels)
    assert (image.height, image.width, image.channels, image.source_dtype) == (20, 30, 3, "uint8")
    assert image.stretch is None and image.path == tmp_path / "a.png"
    assert not image.rgb.flags.writeable


def test_png_grey_rgba_grey_alpha_and_palette(tmp_path, rng):
    grey = rng.integers(0, 256, (12, 9), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert image.channels == 1 and all(np.array_equal(image.rgb[..., c], grey) for c in range(3))

    rgba = rng.integers(0, 256, (12, 9, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    image = load_image(tmp_path / "rgba.png")
    assert image.channels == 4 and np.array_equal(image.rgb, rgba[..., :3])

    Image.fromarray(np.dstack([grey, 255 - grey]), "LA").save(tmp_path / "la.png")
    image = load_image(tmp_path / "la.png")
    assert image.channels == 2 and np.array_equal(image.rgb[..., 1], grey)

    palette = Image.fromarray(rgba[..., :3]).quantize(8)
    palette.save(tmp_path / "p.png")
    assert np.array_equal(load_image(tmp_path / "p.png").rgb, np.asarray(palette.convert("RGB")))


def test_png_16bit_grey_and_colour_keep_their_precision(tmp_path, rng):
    grey = rng.integers(30_000, 30_400, (16, 24), dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    image = load_image(tmp_path / "g16.png")
    assert image.source_dtype == "uint16" and _close(image.rgb[..., 0], _stretched(grey))

    colour = rng.integers(30_000, 30_400, (16, 24, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), colour[..., ::-1])  # OpenCV writes BGR
    image = load_image(tmp_path / "c16.png")
    assert image.source_dtype == "uint16" and image.channels == 3
    assert _close(image.rgb, _stretched(colour))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_is_applied_like_pillow(tmp_path, rng, orientation):
    pixels = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = load_image(path)
    with Image.open(path) as im:
        reference = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(image.rgb, reference)
    assert image.orientation == orientation
    assert (image.height, image.width) == ((40, 24) if orientation >= 5 else (24, 40))


def test_bmp(tmp_path, rng):
    pixels = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.bmp")
    assert np.array_equal(load_image(tmp_path / "a.bmp").rgb, pixels)


def test_tiff_8bit_rgb_and_16bit_grey(tmp_path, rng):
    rgb = rng.integers(0, 256, (10, 14, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    assert np.array_equal(load_image(tmp_path / "rgb.tif").rgb, rgb)

    grey = rng.integers(0, 4096, (10, 14), dtype=np.uint16)  # 12-bit camera data
    tifffile.imwrite(tmp_path / "g16.tif", grey)
    image = load_image(tmp_path / "g16.tif")
    assert (image.source_dtype, image.channels) == ("uint16", 1)
    assert _close(image.rgb[..., 2], _stretched(grey))


def test_tiff_float32_with_nan(tmp_path, rng):
    values = rng.normal(0.0, 1e-3, (12, 12)).astype(np.float32)
    values[3, 4] = np.nan
    tifffile.imwrite(tmp_path / "f.tif", values)
    image = load_image(tmp_path / "f.tif")
    assert image.source_dtype == "float32"
    assert image.rgb[3, 4, 0] == 0
    mask = np.isfinite(values)
    assert _close(image.rgb[..., 0][mask], _stretched(values)[mask])


@pytest.mark.parametrize("layout", ["contig", "separate", "pages"])
@pytest.mark.parametrize("n", [4, 5])
def test_multichannel_tiff_shows_the_first_three_channels(tmp_path, rng, layout, n):
    channels = rng.integers(0, 60_000, (n, 9, 13), dtype=np.uint16)
    path = tmp_path / "m.tif"
    if layout == "contig":
        tifffile.imwrite(path, np.moveaxis(channels, 0, -1), photometric="minisblack", planarconfig="contig")
    elif layout == "separate":
        tifffile.imwrite(path, channels, photometric="minisblack", planarconfig="separate")
    else:
        tifffile.imwrite(path, channels, photometric="minisblack", metadata={"axes": "CYX"})
    image = load_image(path)
    assert image.channels == n and (image.height, image.width) == (9, 13)
    assert _close(image.rgb, _stretched(np.moveaxis(channels[:3], 0, -1)))


@pytest.mark.parametrize("writer", ["tifffile", "page by page"])
def test_unlabelled_channel_pages_show_the_first_three_channels(tmp_path, rng, writer):
    channels = rng.integers(0, 60_000, (5, 9, 13), dtype=np.uint16)
    path = tmp_path / "five.tif"
    if writer == "tifffile":
        tifffile.imwrite(path, channels)  # no axes recorded: tifffile reads the pages as axis Q
    else:
        with tifffile.TiffWriter(path) as tif:  # plain pages, as many tools write them: axis I
            for plane in channels:
                tif.write(plane, metadata=None)
    image = load_image(path)
    assert image.channels == 5 and (image.height, image.width) == (9, 13)
    assert _close(image.rgb, _stretched(np.moveaxis(channels[:3], 0, -1)))


def test_a_long_unlabelled_stack_shows_its_first_page_in_grey(tmp_path, rng):
    from app.sam.images import UNNAMED_CHANNEL_PAGES

    stack = rng.integers(0, 60_000, (UNNAMED_CHANNEL_PAGES + 1, 9, 13), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "stack.tif", stack)
    image = load_image(tmp_path / "stack.tif")
    assert image.channels == 1
    assert _close(image.rgb, np.repeat(_stretched(stack[0])[..., None], 3, axis=2))


def test_imagej_hyperstack_shows_the_first_time_point_and_slice(tmp_path, rng):
    stack = rng.integers(0, 60_000, (2, 3, 4, 8, 10), dtype=np.uint16)  # T Z C Y X
    tifffile.imwrite(tmp_path / "h.tif", stack, imagej=True, metadata={"axes": "TZCYX"})
    image = load_image(tmp_path / "h.tif")
    assert image.channels == 4
    assert _close(image.rgb, _stretched(np.moveaxis(stack[0, 0, :3], 0, -1)))


def test_two_channel_array_shows_red_and_green(rng):
    values = rng.integers(0, 1000, (6, 5, 2), dtype=np.uint16)
    image = image_from_array(values)
    assert image.channels == 2 and image.path is None
    assert _close(image.rgb[..., :2], _stretched(values))
    assert not image.rgb[..., 2].any()
