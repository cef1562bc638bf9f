"""TiffSource: regions of tiled, stripped, BigTIFF and pyramidal TIFFs equal the same region of the whole image
read at once; the overview comes from the pyramid; unsupported sample formats are refused with the file named."""
import threading

import numpy as np
import pytest
import tifffile

from app.tiles.tiff_source import TiffSource


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 255, (700, 900, 3), dtype=np.uint8)


@pytest.mark.parametrize("kwargs", [dict(tile=(256, 256)), dict(tile=(128, 256), compression="zlib"),
                                    dict(rowsperstrip=50), dict(tile=(256, 256), bigtiff=True)])
def test_regions_equal_the_whole_image(tmp_path, rgb, kwargs):
    path = tmp_path / "big.tif"
    bigtiff = kwargs.pop("bigtiff", False)
    tifffile.imwrite(path, rgb, photometric="rgb", bigtiff=bigtiff, **kwargs)
    source = TiffSource(path)
    assert source.size == (700, 900)
    for box in [(0, 0, 900, 700), (250, 130, 530, 390), (899, 699, 900, 700), (600, 0, 900, 257)]:
        x0, y0, x1, y1 = box
        np.testing.assert_array_equal(source.region(*box), rgb[y0:y1, x0:x1])
    source.close()


def test_grey_images_become_rgb_and_the_overview_uses_the_pyramid(tmp_path, rgb):
    grey = rgb[..., 0]
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, grey, tile=(256, 256))
    np.testing.assert_array_equal(TiffSource(path).region(10, 10, 20, 30), np.repeat(grey[10:30, 10:20, None], 3, 2))

    pyramid = tmp_path / "pyramid.tif"
    with tifffile.TiffWriter(pyramid) as tif:
        tif.write(rgb, tile=(256, 256), photometric="rgb", subifds=1)
        tif.write(np.full((350, 450, 3), 77, np.uint8), tile=(256, 256), photometric="rgb", subfiletype=1)
    overview = TiffSource(pyramid).overview(400)
    assert overview.shape == (311, 400, 3) and (overview == 77).all()   # from the half-size level, not the full one
    plain = TiffSource(tmp_path / "grey.tif").overview(300)
    assert plain.shape == (233, 300, 3)


def test_other_sample_formats_are_refused_by_name(tmp_path):
    path = tmp_path / "deep.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint16), tile=(32, 32))
    with pytest.raises(ValueError, match="deep.tif: only 8-bit"):
        TiffSource(path)


@pytest.mark.slow
def test_regions_read_from_several_threads_at_once_are_right(tmp_path, rgb):
    """The canvas's tile decoder and the model's worker read one TiffSource at the same time."""
    path = tmp_path / "shared.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", tile=(64, 64), compression="zlib")
    source = TiffSource(path)
    boxes = [(x, y, x + 150, y + 120) for x in range(0, 700, 70) for y in range(0, 550, 55)]
    wrong = []

    def read(offset):
        for x0, y0, x1, y1 in boxes[offset:] + boxes[:offset]:
            if not np.array_equal(source.region(x0, y0, x1, y1), rgb[y0:y1, x0:x1]):
                wrong.append((x0, y0))

    threads = [threading.Thread(target=read, args=(i * 25,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    source.close()
    assert wrong == []
