"""Overlay drawing: images cover only the masks' bounding box, at the right place, edges opaque."""
import numpy as np

from app.annotate.overlay import (EDGE_ALPHA, FILL_ALPHA, SELECTED_FILL_ALPHA, OverlayMask, around, compose, outlines,
                                 scaled_alpha, tint)
from app.tiles.mask_crop import MaskCrop


def _mask(x0, y0, x1, y1, shape=(300, 400)):
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_compose_covers_the_joint_box_with_fill_and_edges():
    a, b = _mask(10, 20, 30, 40), _mask(100, 50, 120, 60)
    rgba, (x, y) = compose(a.shape, [OverlayMask(a, "#ff0000", (10, 20, 20, 20)), OverlayMask(b, "#0000ff", None)])
    assert (x, y) == (9, 19) and rgba.shape == (60 - 19 + 1, 120 - 9 + 1, 4)
    assert tuple(rgba[25 - y, 15 - x]) == (255, 0, 0, FILL_ALPHA)
    assert tuple(rgba[20 - y, 15 - x]) == (255, 0, 0, EDGE_ALPHA)
    assert tuple(rgba[55 - y, 110 - x]) == (0, 0, 255, FILL_ALPHA) and rgba[45 - y, 60 - x, 3] == 0
    assert compose(a.shape, []) is None


def test_tint_and_outlines_are_placed_in_image_pixels():
    mask = _mask(200, 100, 260, 150)
    rgba, (x, y) = tint(mask, "#00ff00", 99)
    assert (x, y) == (200, 100) and rgba.shape == (50, 60, 4) and (rgba[..., 3] == 99).all()
    (polygon,) = outlines(mask[y:, x:], (x, y))
    assert polygon.min(0).tolist() == [200, 100] and polygon.max(0).tolist() == [259, 149]
    assert tint(np.zeros((5, 5), bool), "#00ff00", 99) is None
    assert tint(mask[90:160, 190:270], "#00ff00", 99, origin=(190, 90))[1] == (200, 100)   # a crop of the image


def test_the_selected_mask_is_drawn_over_the_others():
    a, b = _mask(10, 10, 50, 50), _mask(20, 20, 60, 60)
    rgba, (x, y) = compose(a.shape, [OverlayMask(a, "#ff0000", selected=True), OverlayMask(b, "#0000ff")])
    assert tuple(rgba[30 - y, 30 - x]) == (255, 0, 0, SELECTED_FILL_ALPHA)
    assert tuple(rgba[49 - y, 30 - x]) == (255, 255, 255, 255)


def test_fill_alpha_scales_the_fills_not_the_edges_and_around_frames_every_mask():
    a = _mask(10, 20, 30, 40)
    rgba, (x, y) = compose(a.shape, [OverlayMask(a, "#ff0000", selected=True), OverlayMask(_mask(50, 20, 60, 30),
                                                                                         "#0000ff")], fill_alpha=0)
    assert rgba[30 - y, 20 - x, 3] == 0 and rgba[25 - y, 55 - x, 3] == 0 and rgba[20 - y, 55 - x, 3] == EDGE_ALPHA
    assert scaled_alpha(SELECTED_FILL_ALPHA, 2 * FILL_ALPHA) == min(255, 2 * SELECTED_FILL_ALPHA)
    whole = MaskCrop.whole
    assert around([whole(a), whole(_mask(50, 20, 70, 60))]) == (0, 10, 85, 70)  # joint box 10..70 x 20..60, +1/4
    assert around([whole(_mask(395, 5, 400, 6))], least=24) == (385, 0, 400, 18)  # at least 24 px, in the image
    assert around([whole(np.zeros((30, 40), bool))]) == (0, 0, 40, 30)
    assert around([MaskCrop(np.ones((4, 4), bool), (100, 50), (300, 400))]) == (90, 40, 114, 64)   # a crop's origin
    assert around([MaskCrop.empty((30, 40))]) == (0, 0, 40, 30)
