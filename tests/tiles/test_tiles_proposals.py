"""Proposals on tiles: the pieces of an object that a tile border cuts, and the copies of one that lies in the
region two tiles share, merge into one proposal; objects that merely touch or overlap a little across the seam stay
apart; and on the tiny model, proposing on a tiled image gives one proposal for a disc on a tile border."""
import cv2
import numpy as np
import pytest

from app.autoseg import AutoParams, ProposedMask
from app.sam.checkpoints import load_sam
from app.sam.engine import SamEngine
from app.store.masks import mask_to_rle, rle_area, rle_bbox, rle_to_mask
from app.tiles import TileGrid
from app.tiles.predictor import ArraySource
from app.tiles.proposals import merge_across_tiles, propose_on_tiles
from fixture_paths import TINY_SAM

H, W = 128, 300   # one row of tiles of 128 starting at x 0, 96 and 172


def disc(x, y, r):
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, (x, y), r, 1, -1)
    return mask.astype(bool)


def box(x0, y0, x1, y1):
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def piece(mask, tile, score=0.9):
    """What the tile sees of `mask`, as a proposal in full-image coordinates."""
    seen = np.zeros_like(mask)
    seen[tile.y0:tile.y1, tile.x0:tile.x1] = mask[tile.y0:tile.y1, tile.x0:tile.x1]
    rle = mask_to_rle(seen)
    return ProposedMask(rle, rle_area(rle), rle_bbox(rle), score, 0.95, (0.0, 0.0))


def test_cut_and_doubled_objects_merge_and_neighbours_stay_apart():
    grid = TileGrid(H, W, 128, 32)
    t0, t1, t2 = grid.tiles
    assert [t.x0 for t in grid.tiles] == [0, 96, 172]
    cut, doubled, neighbour = disc(120, 64, 20), disc(112, 20, 8), disc(160, 64, 10)
    left, right = box(100, 90, 126, 110), box(120, 90, 150, 110)   # overlap by 6 columns across the seam
    pieces = [(0, piece(cut, t0)), (1, piece(cut, t1)), (0, piece(doubled, t0)), (1, piece(doubled, t1)),
              (1, piece(neighbour, t1)), (0, piece(left, t0)), (1, piece(right, t1)), (2, piece(disc(250, 64, 9), t2))]
    merged = merge_across_tiles(pieces, grid)
    masks = sorted((rle_to_mask(p.rle) for p in merged), key=lambda m: m.argmax())
    expected = sorted([cut, doubled, neighbour, left, right, disc(250, 64, 9)], key=lambda m: m.argmax())
    assert len(masks) == len(expected)
    for got, want in zip(masks, expected):
        np.testing.assert_array_equal(got, want)


def test_the_merged_proposal_keeps_its_largest_pieces_scores():
    grid = TileGrid(H, W, 128, 32)
    t0, t1, _ = grid.tiles
    cut = disc(125, 64, 20)
    (merged,) = merge_across_tiles([(0, piece(cut, t0, 0.6)), (1, piece(cut, t1, 0.8))], grid)
    assert merged.predicted_iou == 0.8 and merged.area == cut.sum() and merged.bbox == rle_bbox(mask_to_rle(cut))


@pytest.fixture(scope="module")
def engine():
    return SamEngine(load_sam(TINY_SAM, device="cpu").sam)


@pytest.mark.slow
def test_a_disc_on_a_tile_border_is_one_proposal(engine):
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(50, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    on_border = disc(110, 64, 30)   # x 80-140: no tile holds it whole
    image[on_border] = (230, 200, 60)
    params = AutoParams(points_per_side=12, pred_iou_thresh=0.3, stability_score_thresh=0.5)
    done = []
    proposals = propose_on_tiles(engine, ArraySource(image), TileGrid(H, W, 128, 32), params,
                                 progress=lambda n, total: done.append((n, total)))
    assert done == [(1, 3), (2, 3), (3, 3)]
    masks = [rle_to_mask(p.rle) for p in proposals]
    covering = [m for m in masks if (m & on_border).sum() > 0.5 * m.sum() > 0.15 * on_border.sum()]
    assert len(covering) == 1, [int((m & on_border).sum()) for m in masks]
    assert covering[0][:, :96].any() and covering[0][:, 128:].any()   # it spans the seam: pieces joined
    accepted = propose_on_tiles(engine, ArraySource(image), TileGrid(H, W, 128, 32), params,
                                accepted=[mask_to_rle(on_border)])
    assert not any((rle_to_mask(p.rle) & on_border).sum() > 0.5 * p.area for p in accepted)
