"""TileGrid: tiles cover the image with the stated overlap, whole tiles ending at the edges, and the tile that
answers a prompt is the one where it lies most centrally."""
import numpy as np
import pytest

from app.tiles import TileGrid, needs_tiles


@pytest.mark.parametrize("height, width, tile, overlap", [(5000, 3000, 1024, 256), (1024, 2049, 1024, 100),
                                                          (700, 500, 1024, 256), (3000, 3000, 1000, 0)])
def test_tiles_cover_the_image_with_the_overlap(height, width, tile, overlap):
    grid = TileGrid(height, width, tile, overlap)
    covered = np.zeros((height, width), np.uint8)
    for t in grid.tiles:
        assert (t.width, t.height) == (min(tile, width), min(tile, height))   # whole tiles
        assert 0 <= t.x0 < t.x1 <= width and 0 <= t.y0 < t.y1 <= height
        covered[t.y0:t.y1, t.x0:t.x1] += 1
    assert covered.min() >= 1
    xs = sorted({t.x0 for t in grid.tiles})
    for a, b in zip(xs, xs[1:]):   # neighbours share at least the overlap (the last one more, to end at the edge)
        assert a + tile - b >= overlap


def test_the_tile_of_a_point_is_the_one_it_lies_most_centrally_in():
    grid = TileGrid(3000, 3000, 1024, 256)
    starts = sorted({t.x0 for t in grid.tiles})
    assert starts == [0, 768, 1536, 1976]
    near_a_seam = grid.for_points([(800, 100)])   # in tiles at x0 0 and 768: 224 px from the first's inner edge
    assert (near_a_seam.x0, near_a_seam.y0) == (0, 0)
    assert grid.for_points([(1000, 100)]).x0 == 768
    assert grid.for_points([(2990, 2990)]).x0 == 1976   # the image's own edges do not count
    assert grid.for_points([(10, 10), (3000 - 10, 10)]) is None   # no tile holds both
    box = grid.for_box((900, 900, 1500, 1400))
    assert box.x0 <= 900 and box.x1 > 1500 and box.y0 <= 900 and box.y1 > 1400
    assert grid.for_box((0, 0, 1500, 1500)) is None


def test_which_images_are_tiled_and_bad_grids():
    assert not needs_tiles(2048, 1500, 1024) and needs_tiles(2049, 1500, 1024) and needs_tiles(100, 600, 256)
    with pytest.raises(ValueError, match="overlap"):
        TileGrid(100, 100, 64, 64)
    with pytest.raises(ValueError, match="no tiles"):
        TileGrid(0, 100)
