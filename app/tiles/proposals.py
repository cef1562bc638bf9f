"""Automatic proposals on a large image: `propose_instances` on each tile at full resolution, the masks moved to
full-image RLE, and the pieces of an object that tile borders cut merged into one proposal.

Two proposals of overlapping tiles are one object when their IoU inside the region the two tiles share is at least
`SAME_OBJECT` (both tiles see that region whole, so the pieces of one object agree there while two objects that
merely touch do not, `same_object`); the merged proposal is their union, with the scores and prompt point of its
largest piece (the tile that saw most of it).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from app.autoseg import AutoParams, ProposedMask, propose_instances
from app.sam.engine import SamEngine
from app.store.masks import rle_area, rle_bbox, rle_to_mask
from app.tiles.grid import Tile, TileGrid
from app.tiles.rle import crop_to_rle, rle_crop

SAME_OBJECT = 0.5
"""IoU inside the region two tiles share from which two of their proposals are one object."""


def propose_on_tiles(engine: SamEngine, source, grid: TileGrid, params: AutoParams = AutoParams(),
                     accepted: Sequence[dict] = (), progress: Callable[[int, int], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> list[ProposedMask]:
    """Propose every instance of the large image `source` (`predictor.ArraySource` or alike), tile by tile of
    `grid`; `accepted`: full-resolution RLEs of accepted instances (left out as `propose_instances` does).
    `progress(done, tiles)` after each tile; ProposalsCancelled when `cancel()` stops it. Best first."""
    pieces: list[tuple[int, ProposedMask]] = []
    for n, tile in enumerate(grid.tiles):
        box = (tile.x0, tile.y0, tile.x1, tile.y1)
        inside = [m for m in (rle_crop(rle, box) for rle in accepted) if m.any()]
        found = propose_instances(engine, source.region(*box), params, accepted=inside, cancel=cancel)
        pieces += [(n, _moved(p, tile, source.size)) for p in found]
        if progress is not None:
            progress(n + 1, len(grid.tiles))
    return sorted(merge_across_tiles(pieces, grid), key=lambda p: -p.predicted_iou)


def _moved(proposal: ProposedMask, tile: Tile, size: tuple[int, int]) -> ProposedMask:
    """A tile's proposal in full-image coordinates."""
    x, y, w, h = proposal.bbox
    crop = rle_to_mask(proposal.rle)[y:y + h, x:x + w]
    rle = crop_to_rle(crop, (tile.x0 + x, tile.y0 + y), size)
    px, py = proposal.point
    return ProposedMask(rle, proposal.area, (tile.x0 + x, tile.y0 + y, w, h), proposal.predicted_iou,
                        proposal.stability, (px + tile.x0, py + tile.y0))


def _region_rle(a: Tile, b: Tile, size: tuple[int, int]) -> dict | None:
    x0, y0, x1, y1 = max(a.x0, b.x0), max(a.y0, b.y0), min(a.x1, b.x1), min(a.y1, b.y1)
    if x0 >= x1 or y0 >= y1:
        return None
    return crop_to_rle(np.ones((y1 - y0, x1 - x0), bool), (x0, y0), size)


def _common(rles: list[dict]) -> int:
    """Pixels set in every one of the RLEs."""
    return int(mask_utils.area(mask_utils.merge(rles, intersect=True)))


def same_object(p: ProposedMask, q: ProposedMask, shared: dict) -> bool:
    """True when proposals p and q (of two tiles sharing the region `shared`, an RLE) are pieces of one object:
    their IoU inside `shared` is at least SAME_OBJECT."""
    both = _common([p.rle, q.rle])   # inside `shared` anyway: p lies in one tile, q in the other
    either = _common([p.rle, shared]) + _common([q.rle, shared]) - both
    return either > 0 and both >= SAME_OBJECT * either


def _boxes_meet(p: ProposedMask, q: ProposedMask) -> bool:
    (px, py, pw, ph), (qx, qy, qw, qh) = p.bbox, q.bbox
    return px < qx + qw and qx < px + pw and py < qy + qh and qy < py + ph


def merge_across_tiles(pieces: Sequence[tuple[int, ProposedMask]], grid: TileGrid) -> list[ProposedMask]:
    """Proposals (tile index, proposal in full-image coordinates) with the pieces of each object merged."""
    parent = list(range(len(pieces)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    size = (grid.height, grid.width)
    by_tile: dict[int, list[int]] = {}
    for i, (t, _) in enumerate(pieces):
        by_tile.setdefault(t, []).append(i)
    tiles = grid.tiles
    for a in by_tile:
        for b in by_tile:
            shared = _region_rle(tiles[a], tiles[b], size) if a < b else None
            if shared is None:
                continue
            for i in by_tile[a]:
                for j in by_tile[b]:
                    p, q = pieces[i][1], pieces[j][1]
                    if root(i) != root(j) and _boxes_meet(p, q) and same_object(p, q, shared):
                        parent[root(j)] = root(i)
    groups: dict[int, list[ProposedMask]] = {}
    for i, (_, p) in enumerate(pieces):
        groups.setdefault(root(i), []).append(p)
    return [_union(group) for group in groups.values()]


def _union(group: list[ProposedMask]) -> ProposedMask:
    if len(group) == 1:
        return group[0]
    largest = max(group, key=lambda p: p.area)
    merged = mask_utils.merge([p.rle for p in group], intersect=False)
    rle = {"size": list(merged["size"]), "counts": merged["counts"].decode("ascii")}
    return ProposedMask(rle, rle_area(rle), rle_bbox(rle), largest.predicted_iou, largest.stability, largest.point)
