"""TiledPredictor on the tiny model: a click on a large image is answered by the tile it lies in most centrally,
with the same masks as the same click on that tile cut out as its own image, in full-image coordinates; tiles are
embedded once (cached) and ahead of the annotator; a box no tile holds is answered on the overview."""
import cv2
import numpy as np
import pytest

from app.sam.checkpoints import load_sam
from app.sam.engine import SamEngine
from app.store.masks import rle_to_mask
from app.tiles import TileGrid
from app.tiles.predictor import ArraySource, TiledPredictor
from fixture_paths import TINY_SAM

TILE = 128   # the tiny model's input side


@pytest.fixture(scope="module")
def sam():
    return load_sam(TINY_SAM, device="cpu").sam


@pytest.fixture
def large():
    """A 400 x 520 image of discs, one across the seam between the first two tile columns."""
    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(60, 10, (400, 520, 3)), 0, 255).astype(np.uint8)
    for x, y, r in [(60, 60, 20), (100, 200, 14), (300, 300, 25), (470, 350, 18)]:
        cv2.circle(image, (x, y), r, (220, 180, 60), -1)
    return image


@pytest.mark.slow
def test_a_click_is_answered_by_its_tile_as_the_tile_alone_would(sam, large):
    grid = TileGrid(*large.shape[:2], tile=TILE, overlap=32)
    tiled = TiledPredictor(SamEngine(sam), ArraySource(large), grid)
    result = tiled.predict([[300, 300]], [1])
    tile = result.tile
    assert tile is grid.for_points([(300, 300)]) and result.origin == (tile.x0, tile.y0)
    alone = SamEngine(sam)
    alone.set_image(np.ascontiguousarray(large[tile.y0:tile.y1, tile.x0:tile.x1]))
    expected = alone.predict(np.array([[300.0 - tile.x0, 300.0 - tile.y0]]), np.array([1]))
    np.testing.assert_array_equal(result.masks, expected.masks)
    np.testing.assert_allclose(result.scores, expected.scores)
    full = rle_to_mask(result.rle(result.best))
    assert full.shape == large.shape[:2]
    np.testing.assert_array_equal(full[tile.y0:tile.y1, tile.x0:tile.x1], expected.masks[expected.best])
    assert full.sum() == expected.masks[expected.best].sum()   # nothing outside the tile


@pytest.mark.slow
def test_negative_points_outside_the_tile_are_left_out_and_refining_stays_on_the_tile(sam, large):
    tiled = TiledPredictor(SamEngine(sam), ArraySource(large), TileGrid(400, 520, TILE, 32))
    first = tiled.predict([[300, 300], [10, 10]], [1, 0])
    again = tiled.predict([[300, 300]], [1])
    np.testing.assert_array_equal(first.masks, again.masks)   # the far negative point changed nothing
    refined = tiled.predict([[300, 300], [310, 300]], [1, 1], mask_input=first.low_res_logits[first.best][None],
                            multimask=False, tile=first.tile)
    assert refined.tile == first.tile and refined.masks.shape == (1, TILE, TILE)
    with pytest.raises(ValueError, match="positive point or a box"):
        tiled.predict([[300, 300]], [0])


@pytest.mark.slow
def test_tiles_are_embedded_once_and_ahead(sam, large):
    engine = SamEngine(sam)
    tiled = TiledPredictor(engine, ArraySource(large), TileGrid(400, 520, TILE, 32))
    report = tiled.prefetch_around(300, 300, tiles=4)
    assert (report.embedded, report.cached) == (4, 0)
    assert tiled.prefetch_around(300, 300, tiles=4).cached == 4
    near = tiled.grid.for_points([(300, 300)])
    assert engine.set_image(np.ascontiguousarray(large[near.y0:near.y1, near.x0:near.x1]))   # cached: prefetched
    far = tiled.grid.tiles[0]
    assert not engine.set_image(np.ascontiguousarray(large[far.y0:far.y1, far.x0:far.x1]))   # not among the 4


@pytest.mark.slow
def test_a_box_larger_than_a_tile_is_answered_on_the_overview(sam, large):
    tiled = TiledPredictor(SamEngine(sam), ArraySource(large), TileGrid(400, 520, TILE, 32))
    result = tiled.predict(box=[20, 20, 400, 380])
    assert result.tile is None and result.overview_scale == pytest.approx(520 / TILE)
    x0, y0 = result.origin
    h, w = result.masks.shape[1:]
    assert 0 <= x0 and 0 <= y0 and x0 + w <= 520 and y0 + h <= 400
    full = rle_to_mask(result.rle(result.best))
    assert full.shape == (400, 520) and full.sum() == result.masks[result.best].sum()


@pytest.mark.slow
def test_crops_put_the_tiles_masks_on_the_whole_image_and_tile_of_finds_the_tile_to_refine_on(sam, large):
    tiled = TiledPredictor(SamEngine(sam), ArraySource(large), TileGrid(400, 520, TILE, 32))
    result = tiled.predict([[300, 300]], [1])
    tile = result.tile
    assert result.frame == (tile.x0, tile.y0, tile.x1, tile.y1)
    for index, mask in enumerate(result.masks):
        crop = result.crop(index)                                                   # trimmed to its pixels
        full = np.zeros((400, 520), bool)
        full[tile.y0:tile.y1, tile.x0:tile.x1] = mask
        np.testing.assert_array_equal(crop.dense(), full)
        assert crop.size == (400, 520) and crop.pixels.sum() == mask.sum() and crop.nbytes <= mask.nbytes
    assert tiled.tile_of(result.frame, [[300, 300], [10, 10]], [1, 0]) == tile      # a far negative point: same
    assert tiled.tile_of(result.frame, [[300, 300], [10, 10]], [1, 1]) is None      # a far positive one: afresh
    assert tiled.predict(box=[20, 20, 400, 380]).frame is None                      # the overview's


class _DamagedSource(ArraySource):
    """An ArraySource whose region at the image's origin cannot be read, as a damaged TIFF segment."""

    path = "slide.tif"

    def region(self, x0, y0, x1, y1, level=0):
        if (x0, y0) == (0, 0):
            raise ValueError("zlib: invalid stored block lengths")
        return super().region(x0, y0, x1, y1, level)


def test_a_tile_that_cannot_be_read_is_reported_by_file_and_region_and_the_others_are_embedded(sam, large):
    tiled = TiledPredictor(SamEngine(sam), _DamagedSource(large), TileGrid(400, 520, TILE, 32))
    tiles = tiled.grid.nearest(0, 0, 3)
    report = tiled.prefetch_tiles(tiles)
    assert (report.total, report.embedded, len(report.failed)) == (3, 2, 1)
    assert report.failed[0].startswith("slide.tif: tile x 0-128, y 0-128: zlib")
