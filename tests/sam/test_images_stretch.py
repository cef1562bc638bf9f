"""The contrast stretch that makes high-bit-depth and float images visible, and its edge cases."""
import warnings

import numpy as np
import pytest
import tifffile

from app.sam.image_normalise import stretch_range
from app.sam.images import image_from_array, load_image


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero, no NaN casts
        yield


def test_narrow_band_16bit_image_spans_the_full_display_range(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.integers(1000, 1200, (64, 64), dtype=np.uint16)  # black if shown as value / 257
    tifffile.imwrite(tmp_path / "narrow.tif", values)
    image = load_image(tmp_path / "narrow.tif")
    shown = image.rgb[..., 0].astype(int)
    assert shown.min() == 0 and shown.max() == 255
    order = np.argsort(values, axis=None, kind="stable")
    assert np.all(np.diff(shown.ravel()[order]) >= 0)  # brighter source is never shown darker
    low, high = image.stretch
    assert 1000 <= low < high <= 1199


def test_constant_images_show_black_without_dividing_by_zero():
    for values in (np.full((8, 8), 777, np.uint16), np.full((8, 8, 3), 0.25, np.float32)):
        image = image_from_array(values)
        assert not image.rgb.any()
        assert image.stretch[0] == image.stretch[1]


def test_sparse_bright_spots_stay_visible_on_a_flat_background():
    values = np.full((200, 200), 100, np.uint16)
    spots = (np.array([5, 50, 120, 199]), np.array([7, 99, 3, 150]))
    values[spots] = 5000  # 4 of 40,000 pixels: both percentiles fall on the background
    shown = image_from_array(values).rgb[..., 0]
    assert (shown[spots] == 255).all()
    assert shown.sum() == 255 * 4


def test_nan_and_infinities_in_float_images():
    values = np.linspace(-1.0, 1.0, 100, dtype=np.float32).reshape(10, 10)
    values[0, 0], values[0, 1], values[0, 2] = np.nan, np.inf, -np.inf
    shown = image_from_array(values).rgb[..., 0]
    assert shown[0, 0] == 0 and shown[0, 1] == 255 and shown[0, 2] == 0
    finite = np.isfinite(values)
    low, high = np.percentile(values[finite], [0.5, 99.5])
    want = np.clip(np.rint((values[finite] - low) / (high - low) * 255), 0, 255)
    assert np.abs(shown[finite] - want).max() <= 1
    assert not image_from_array(np.full((4, 4), np.nan, np.float64)).rgb.any()


def test_8bit_and_boolean_images_are_not_stretched():
    values = np.array([[10, 20], [30, 40]], np.uint8)
    image = image_from_array(values)
    assert image.stretch is None and np.array_equal(image.rgb[..., 1], values)
    mask = image_from_array(np.array([[True, False]]))
    assert mask.rgb[0, :, 0].tolist() == [255, 0]


@pytest.mark.slow
def test_stretch_range_of_a_large_image_matches_the_full_percentiles():
    rng = np.random.default_rng(2)
    values = rng.gamma(2.0, 500.0, (2500, 2000)).astype(np.uint16)[:, :, None]  # 5 MP: estimated on a grid
    low, high = stretch_range(values)
    want_low, want_high = np.percentile(values, [0.5, 99.5])
    assert abs(low - want_low) <= 0.02 * want_high and abs(high - want_high) <= 0.02 * want_high
