"""Tiles ahead of the annotator: the block of tiles around the centre of the part of the image in view, nearest
first, bounded by the count asked for."""
from app.tiles import TileGrid
from app.tiles.ahead import AHEAD_ENV, DEFAULT_TILES_AHEAD, ahead_count, tiles_ahead, view_centre

GRID = TileGrid(4000, 6000, 1024, 256)   # tile centres every 768 px; starts 0, 768, ... and one ending at the edge


def _corner(t):
    return t.x0, t.y0


def test_the_tiles_ahead_are_the_block_around_the_view_nearest_first():
    view = (1536 - 300, 768 - 200, 1536 + 1324, 768 + 1224)          # centred on the tile at (1536, 768)
    ahead = tiles_ahead(GRID, view, 9)
    assert _corner(ahead[0]) == (1536, 768)
    assert {_corner(t) for t in ahead[1:5]} == {(768, 768), (2304, 768), (1536, 0), (1536, 1536)}   # sides first
    assert {_corner(t) for t in ahead} == {(x, y) for x in (768, 1536, 2304) for y in (0, 768, 1536)}
    assert len(tiles_ahead(GRID, view, 25)) == 25 and tiles_ahead(GRID, view, 25)[:9] == ahead
    assert tiles_ahead(GRID, view, 0) == [] and len(tiles_ahead(GRID, view, 10_000)) == len(GRID.tiles)


def test_moving_the_view_moves_the_tiles_ahead():
    first = tiles_ahead(GRID, (0, 0, 900, 900), 4)
    assert {_corner(t) for t in first} == {(0, 0), (768, 0), (0, 768), (768, 768)}
    last = tiles_ahead(GRID, (5500, 3500, 6000, 4000), 1)[0]
    assert (last.x1, last.y1) == (6000, 4000)


def test_only_the_part_of_the_view_inside_the_image_counts():
    assert view_centre((-1000, -500, 1000, 500), (4000, 6000)) == (500, 250)       # zoomed out past the corner
    assert view_centre((-3000, -3000, 9000, 7000), (4000, 6000)) == (3000, 2000)   # all of it in view
    assert view_centre((7000, 0, 8000, 100), (4000, 6000)) == (3000, 2000)         # none of it: the centre


def test_the_count_ahead_is_set_by_the_environment(monkeypatch):
    monkeypatch.delenv(AHEAD_ENV, raising=False)
    assert ahead_count() == DEFAULT_TILES_AHEAD
    monkeypatch.setenv(AHEAD_ENV, "25")
    assert ahead_count() == 25
    monkeypatch.setenv(AHEAD_ENV, "0")
    assert ahead_count() == 0
    monkeypatch.setenv(AHEAD_ENV, "many")
    assert ahead_count() == DEFAULT_TILES_AHEAD
