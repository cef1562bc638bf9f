"""Tiles ahead in the real window: once a large image's first tile is embedded, the tiles around the view are
embedded in the background (a click on one then embeds nothing), moving the view re-centres them, and opening
another image cancels what is left."""
import threading

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage
from PySide6.QtCore import QPointF, Qt

from app.tiles import TileGrid
from app.tiles.ahead import DEFAULT_TILES_AHEAD
from window_helpers import SIZE, click, demo_model, key, wait_mask, wait_ready

WIDTH, HEIGHT = 2000, 1500   # 10 x 8 tiles of the demo model's 256 px


class CountedEncoder:
    """A loader of the demo model whose encoder counts its runs; with `hold_from`, that run and the later ones
    wait until `release` is set (`entered` says one is waiting)."""

    def __init__(self, hold_from=None):
        self.runs, self.hold_from = 0, hold_from
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self):
        model = demo_model()()
        encoder = model.loaded.sam.image_encoder
        forward = encoder.forward

        def counted(x):
            self.runs += 1
            if self.hold_from is not None and self.runs >= self.hold_from:
                self.entered.set()
                assert self.release.wait(60)
            return forward(x)

        encoder.forward = counted
        return model


@pytest.fixture
def slide(tmp_path):
    """A folder holding one large tiled TIFF (a_slide.tif), and its pixels."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    folder = tmp_path / "images"
    folder.mkdir()
    tifffile.imwrite(folder / "a_slide.tif", pixels, tile=(256, 256), compression="zlib")
    return folder, pixels


@pytest.fixture
def held_encoder(make_window):
    """A CountedEncoder whose second run and later ones wait for `release`, set at the latest when the test ends
    (before the window's threads are stopped)."""
    encoder = CountedEncoder(hold_from=2)
    yield encoder
    encoder.release.set()


def _cached(window, pixels, tiles):
    """Which of `tiles` the engine's cache holds."""
    engine = window.model.engine
    return [t for t in tiles if engine.cache_key(np.ascontiguousarray(pixels[t.y0:t.y1, t.x0:t.x1])) in engine.cache]


def _grid(window):
    return TileGrid.for_model(HEIGHT, WIDTH, window.model.engine.side)


def _settled(qtbot, window):
    """Wait until the tiles around the view are embedded (the folder has no other image to prefetch next)."""
    qtbot.waitUntil(lambda: window.status.prefetch.text().startswith(f"{DEFAULT_TILES_AHEAD} tiles around the view "
                                                                      "ready"), timeout=60000)


@pytest.mark.slow
def test_the_tiles_around_the_view_are_embedded_ahead_and_follow_the_view(qtbot, make_window, slide):
    folder, pixels = slide
    encoder = CountedEncoder()
    window = make_window(folder, loader=encoder)
    assert window.model.tiles_ahead_count == DEFAULT_TILES_AHEAD
    _settled(qtbot, window)
    grid = _grid(window)
    around_centre = grid.nearest(WIDTH / 2, HEIGHT / 2, DEFAULT_TILES_AHEAD)   # fitted: all of the image in view
    assert _cached(window, pixels, around_centre) == around_centre
    assert encoder.runs == DEFAULT_TILES_AHEAD   # the first tile, then the others around it: no more

    neighbour = around_centre[-1]
    x, y = (neighbour.x0 + neighbour.x1) // 2, (neighbour.y0 + neighbour.y1) // 2
    click(qtbot, window, x, y)
    wait_mask(qtbot, window)
    assert window.session.candidates[0].frame == (neighbour.x0, neighbour.y0, neighbour.x1, neighbour.y1)
    assert encoder.runs == DEFAULT_TILES_AHEAD   # answered from the cache: nothing embedded for the click
    key(qtbot, window, Qt.Key.Key_Escape)

    window.canvas.actual_size()
    window.canvas.centerOn(QPointF(1700, 1250))   # the view moves to the bottom-right corner
    centre = window.canvas.mapToScene(window.canvas.viewport().rect().center())
    around_corner = grid.nearest(centre.x(), centre.y(), DEFAULT_TILES_AHEAD)
    assert not set(around_corner) & set(around_centre)
    qtbot.waitUntil(lambda: _cached(window, pixels, around_corner) == around_corner, timeout=60000)
    _settled(qtbot, window)
    assert encoder.runs == 2 * DEFAULT_TILES_AHEAD   # re-centred there, and nothing else embedded
    assert len(_cached(window, pixels, grid.tiles)) == 2 * DEFAULT_TILES_AHEAD


@pytest.mark.slow
def test_opening_another_image_cancels_the_tiles_ahead(qtbot, make_window, slide, held_encoder):
    folder, pixels = slide
    for value, name in enumerate(("b_small.png", "c_small.png")):
        PILImage.fromarray(np.full((SIZE[1], SIZE[0], 3), 60 * value, np.uint8)).save(folder / name)
    encoder = held_encoder   # the first tile passes; the first tile ahead waits in the encoder
    window = make_window(folder, loader=encoder)
    assert window.session.image.path == "a_slide.tif"
    qtbot.waitUntil(lambda: encoder.entered.is_set() and window.status.prefetch.text() == "Tiles 1/9 ahead",
                    timeout=30000)
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.image.path == "b_small.png" and window.status.prefetch.text() == ""
    encoder.release.set()
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.status.prefetch.text().startswith("Next "), timeout=30000)   # images ahead
    # the prefetcher works in order, so the slide's tiles are over: dropped after the one that was in the encoder
    around_centre = _grid(window).nearest(WIDTH / 2, HEIGHT / 2, DEFAULT_TILES_AHEAD)
    assert set(_cached(window, pixels, _grid(window).tiles)) == set(around_centre[:2])


def test_only_images_embedded_whole_are_prefetched_as_next_images():
    from app.ui.model_controller import embedded_whole

    assert embedded_whole(120, 200, 128) and embedded_whole(1500, 2000, 1024)
    assert not embedded_whole(400, 520, 128)     # answered on tiles of the tiny model's input
    assert not embedded_whole(2000, 3000, 1024)  # large: read region by region, answered on tiles
