"""A large image in the real window: a tiled TIFF (read region by region) or a PNG (decoded whole) is shown tile by
tile (never one full-resolution pixmap), decoded off the GUI thread with a placeholder until a tile comes (tiles of
a view left behind are never decoded), and a click is answered on a tile at full resolution, drafted and drawn as a
crop of that tile, and stored as full-resolution RLE."""
import threading

import cv2
import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from app.store.masks import rle_bbox
from app.tiles import needs_tiles, rle_crop
from app.tiles.predictor import ArraySource
from app.tiles.tiff_source import TiffSource
from app.ui.tiled_image import LargePixels, TiledImageItem
from window_helpers import DEMO_WEIGHTS, click, drag, key, stored, wait_mask

WIDTH, HEIGHT = 3000, 2000
DISC = (2210, 1330, 40)   # centre x, centre y, radius: far from the image's centre tile
COLOUR = (230, 200, 60)


def _large_image(folder, name):
    """Writes the noisy image with its disc into `folder`; (the RGB image, the disc's mask)."""
    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(50, 8, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    disc = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.circle(disc, DISC[:2], DISC[2], 1, -1)
    image[disc.astype(bool)] = COLOUR
    folder.mkdir()
    if name.endswith(".tif"):
        tifffile.imwrite(folder / name, image, tile=(256, 256), compression="zlib")
    else:
        cv2.imwrite(str(folder / name), image[..., ::-1])
    return image, disc.astype(bool)


def _shown_at(window, x, y):
    """The colour the canvas shows at image pixel (x, y)."""
    pos = window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
    colour = window.canvas.viewport().grab().toImage().pixelColor(pos)
    return colour.red(), colour.green(), colour.blue()


def _shown(view, box):
    """The RGB pixels (H x W x 3) a view at 100 % shows of image box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    corner = view.mapFromScene(QPointF(x0, y0))            # at 100 % the scroll offset is whole pixels
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    pixels = rows[:, :image.width() * 3].reshape(image.height(), image.width(), 3)
    return pixels[corner.y():corner.y() + y1 - y0, corner.x():corner.x() + x1 - x0].copy()


@pytest.mark.parametrize("name", ["slide.tif", "slide.png"])
@pytest.mark.slow
def test_a_click_on_a_large_image_gives_a_full_resolution_mask_from_a_tile(qtbot, make_window, tmp_path, name):
    _, disc = _large_image(tmp_path / "images", name)
    window = make_window(tmp_path / "images")
    assert needs_tiles(HEIGHT, WIDTH, window.model.engine.side)
    layers = window.canvas.layers
    assert layers.tiled is not None and layers.image.pixmap().isNull()
    x, y, r = DISC
    assert np.allclose(_shown_at(window, x, y), COLOUR, atol=40)        # fitted: from the overview
    window.canvas.actual_size()
    window.canvas.centerOn(QPointF(x, y))
    qtbot.waitUntil(lambda: _shown_at(window, x, y) == COLOUR)            # 100 %: full-resolution tiles
    assert _shown_at(window, x + 2 * r, y) != COLOUR

    click(qtbot, window, x, y)
    wait_mask(qtbot, window)
    prediction, _ = window.session.candidates
    tx0, ty0, tx1, ty1 = prediction.frame                               # the tile that answered holds the click
    assert tx0 <= x < tx1 and ty0 <= y < ty1 and (tx1 - tx0, ty1 - ty0) == (256, 256)
    if DEMO_WEIGHTS:   # trained weights: the mask lies on the clicked disc
        shown = window.session.draft_mask.dense()
        assert (shown & disc).sum() >= 0.8 * shown.sum() and (shown & disc).sum() >= 0.25 * disc.sum()
    if not window.session.draft_mask.any():   # random weights may give an empty mask; a brush dab keeps it honest
        key(qtbot, window, Qt.Key.Key_B)
        drag(window, [(x, y), (x + 3, y)])
        key(qtbot, window, Qt.Key.Key_B)
    draft = window.session.draft_mask                                   # a crop of the tile, not the whole image
    bx0, by0, bx1, by1 = box = draft.bounds()
    assert draft.size == (HEIGHT, WIDTH) and draft.pixels.size <= (tx1 - tx0 + 20) * (ty1 - ty0 + 20)
    fill = layers.draft_fill                                            # drawn over the mask's box only
    assert (fill.offset().x(), fill.offset().y()) == (bx0, by0)
    assert (fill.pixmap().width(), fill.pixmap().height()) == (bx1 - bx0, by1 - by0)
    key(qtbot, window, Qt.Key.Key_Return)
    (instance,) = stored(window)
    assert instance.rle["size"] == [HEIGHT, WIDTH]
    assert np.array_equal(rle_crop(instance.rle, box), draft.region(box)) and instance.area == draft.pixels.sum()
    bx, by, bw, bh = rle_bbox(instance.rle)
    assert bx <= x < bx + bw and by <= y < by + bh and bx >= tx0 and by >= ty0 and bx + bw <= tx1


@pytest.mark.slow
def test_at_100_percent_a_region_shows_its_placeholder_then_the_full_resolution_tile(qtbot, make_window, tmp_path):
    image, _ = _large_image(tmp_path / "images", "slide.tif")
    window = make_window(tmp_path / "images")
    box = (600, 500, 640, 530)                                           # noise, far from the disc
    x0, y0, x1, y1 = box
    window.canvas.actual_size()
    window.canvas.centerOn(QPointF(x0, y0))
    placeholder = _shown(window.canvas, box)                             # painted before any tile could come
    assert not np.array_equal(placeholder, image[y0:y1, x0:x1])
    assert abs(placeholder.mean() - image[y0:y1, x0:x1].mean()) < 10  # the overview, scaled: the same colours
    qtbot.waitUntil(lambda: np.array_equal(_shown(window.canvas, box), image[y0:y1, x0:x1]))


class _GatedSource:
    """An ArraySource whose regions wait for `gate`; every region read is recorded as (level, x0, y0)."""

    def __init__(self, rgb):
        self._source = ArraySource(rgb)
        self.size, self.level_sizes = self._source.size, self._source.level_sizes
        self.gate, self.read = threading.Event(), []

    def overview(self, side):
        return self._source.overview(side)

    def region(self, x0, y0, x1, y1, level=0):
        self.read.append((level, x0, y0))
        self.gate.wait()
        return self._source.region(x0, y0, x1, y1, level)


def _shown_in_a_view(qtbot, source, width: int, height: int):
    """`source` as a TiledImageItem in a shown view of this size: (item, view)."""
    scene = QGraphicsScene()
    item = TiledImageItem(LargePixels.of(source))
    scene.addItem(item)
    view = QGraphicsView(scene)
    scene.setParent(view)   # the view does not own its scene: kept alive with it
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    return item, view


@pytest.mark.slow
def test_the_tiles_of_a_view_left_behind_are_not_decoded(qtbot):
    rgb = np.random.default_rng(5).integers(0, 255, (3000, 3000, 3), dtype=np.uint8)
    source = _GatedSource(rgb)
    item, view = _shown_in_a_view(qtbot, source, 700, 300)
    for policy in (view.setHorizontalScrollBarPolicy, view.setVerticalScrollBarPolicy):
        policy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.centerOn(QPointF(350, 150))              # tiles (0, 0) and (512, 0) in view, (0, 0) nearer the centre
    view.viewport().grab()
    qtbot.waitUntil(lambda: source.read == [(0, 0, 0)])   # the decoder waits at the gate with the first tile
    view.centerOn(QPointF(2500, 2500))            # before (512, 0) is taken, the view moves on
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    box = (int(shown.left()) + 1, int(shown.top()) + 1, int(shown.right()) - 1, int(shown.bottom()) - 1)
    view.viewport().grab()
    source.gate.set()
    qtbot.waitUntil(lambda: np.array_equal(_shown(view, box), rgb[box[1]:box[3], box[0]:box[2]]))
    item.close()
    assert sorted(source.read) == [(0, 0, 0), (0, 2048, 2048), (0, 2048, 2560), (0, 2560, 2048), (0, 2560, 2560)]


@pytest.mark.slow
def test_a_coarser_level_decoded_stands_in_for_a_sharper_tile_until_it_comes(qtbot, tmp_path):
    path = tmp_path / "pyramid.tif"
    half = np.random.default_rng(6).integers(0, 255, (1050, 2100, 3), dtype=np.uint8)
    with tifffile.TiffWriter(path) as tif:                    # the full level flat grey, the half level noise
        tif.write(np.full((2100, 4200, 3), 100, np.uint8), tile=(256, 256), photometric="rgb", subifds=1,
                  compression="zlib")
        tif.write(half, tile=(256, 256), photometric="rgb", subfiletype=1)
    source = TiffSource(path)
    item, view = _shown_in_a_view(qtbot, source, 500, 300)
    box = (2000, 1000, 2040, 1020)
    x0, y0, x1, y1 = box
    view.scale(0.5, 0.5)                                      # the half level is decoded for this view
    view.centerOn(QPointF(x0, y0))
    decoded = []
    item.tile_decoded.connect(decoded.append)
    qtbot.waitUntil(lambda: (1, 512, 0) in decoded)          # the half level's tile that holds the box
    view.resetTransform()                                     # 100 %: the full level's tiles are asked for
    view.centerOn(QPointF(x0, y0))
    upscaled = np.repeat(np.repeat(half[y0 // 2:y1 // 2, x0 // 2:x1 // 2], 2, 0), 2, 1)
    assert np.array_equal(_shown(view, box), upscaled)        # the half level's tile, scaled, in the meantime
    qtbot.waitUntil(lambda: (_shown(view, box) == 100).all())
    item.close()
    source.close()
