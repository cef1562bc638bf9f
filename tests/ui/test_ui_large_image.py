"""A large image in the real window: a tiled TIFF (read region by region) or a PNG (decoded whole) is shown tile by
tile (never one full-resolution pixmap), and a click is answered on a tile at full resolution and stored as
full-resolution RLE."""
import cv2
import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QPointF, Qt

from app.store.masks import rle_bbox
from app.tiles import needs_tiles
from window_helpers import DEMO_WEIGHTS, click, drag, key, stored, wait_mask

WIDTH, HEIGHT = 3000, 2000
DISC = (2210, 1330, 40)   # centre x, centre y, radius: far from the image's centre tile
COLOUR = (230, 200, 60)


def _large_image(folder, name):
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
    return disc.astype(bool)


def _shown_at(window, x, y):
    """The colour the canvas shows at image pixel (x, y)."""
    pos = window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
    colour = window.canvas.viewport().grab().toImage().pixelColor(pos)
    return colour.red(), colour.green(), colour.blue()


@pytest.mark.parametrize("name", ["slide.tif", "slide.png"])
@pytest.mark.slow
def test_a_click_on_a_large_image_gives_a_full_resolution_mask_from_a_tile(qtbot, make_window, tmp_path, name):
    disc = _large_image(tmp_path / "images", name)
    window = make_window(tmp_path / "images")
    assert needs_tiles(HEIGHT, WIDTH, window.model.engine.side)
    layers = window.canvas.layers
    assert layers.tiled is not None and layers.image.pixmap().isNull()
    x, y, r = DISC
    assert np.allclose(_shown_at(window, x, y), COLOUR, atol=40)        # fitted: from the overview
    window.canvas.actual_size()
    window.canvas.centerOn(QPointF(x, y))
    assert _shown_at(window, x, y) == COLOUR                             # 100 %: full-resolution tiles
    assert _shown_at(window, x + 2 * r, y) != COLOUR

    click(qtbot, window, x, y)
    wait_mask(qtbot, window)
    prediction, _ = window.session.candidates
    tx0, ty0, tx1, ty1 = prediction.frame                               # the tile that answered holds the click
    assert tx0 <= x < tx1 and ty0 <= y < ty1 and (tx1 - tx0, ty1 - ty0) == (256, 256)
    if DEMO_WEIGHTS:   # trained weights: the mask lies on the clicked disc
        shown = window.session.draft_mask
        assert (shown & disc).sum() >= 0.8 * shown.sum() and (shown & disc).sum() >= 0.25 * disc.sum()
    if not window.session.draft_mask.any():   # random weights may give an empty mask; a brush dab keeps it honest
        key(qtbot, window, Qt.Key.Key_B)
        drag(window, [(x, y), (x + 3, y)])
        key(qtbot, window, Qt.Key.Key_B)
    key(qtbot, window, Qt.Key.Key_Return)
    (instance,) = stored(window)
    assert instance.rle["size"] == [HEIGHT, WIDTH]
    bx, by, bw, bh = rle_bbox(instance.rle)
    assert bx <= x < bx + bw and by <= y < by + bh and bx >= tx0 and by >= ty0 and bx + bw <= tx1
