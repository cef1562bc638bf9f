"""`mopeft bench tiles`: large images through tiles, by image side: the time to a first mask, the time per tile
embedded, the whole image's embedding time (tiles x that), proposals per megapixel, and the peak memory.

Each side runs in a child process of its own (so its peak resident memory is its own), on a tiled TIFF written
beforehand tile by tile (never whole in memory): synthetic discs on a gradient. The child opens it region by
region (`tiles.tiff_source`), answers a click at the centre (one tile embedded), embeds the next nearest tiles,
and proposes on one tile.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("tiles", help="large images through tiles: first mask, embedding, proposals, peak memory")
    p.add_argument("--arch", default="demo", help="SAM architecture or registered model (default demo)")
    p.add_argument("--sides", type=int, nargs="+", default=[1000, 4000, 10000, 20000],
                   help="image sides to measure (default 1000 4000 10000 20000)")
    p.add_argument("--prefetch", type=int, default=4, help="tiles embedded after the first (default 4)")
    p.add_argument("--points-per-side", type=int, default=16, help="proposals' grid on one tile (default 16)")
    p.add_argument("--folder", help="where to write the test images (default: a temporary folder)")
    p.set_defaults(run=run)


def write_tiff(path: Path, side: int, tile: int = 512) -> None:
    """A side x side RGB tiled TIFF of discs on a gradient, written tile by tile."""
    import cv2
    import numpy as np
    import tifffile

    def tiles():
        for y in range(0, side, tile):
            for x in range(0, side, tile):
                block = np.empty((tile, tile, 3), np.uint8)
                block[..., 0] = (np.arange(tile)[None, :] + x) * 255 // side
                block[..., 1] = (np.arange(tile)[:, None] + y) * 255 // side
                block[..., 2] = 90
                for k in range(4):
                    cv2.circle(block, (64 + 110 * k, 80 + 100 * k), 30 + 5 * k, (230, 200, 60), -1)
                yield block

    tifffile.imwrite(path, tiles(), shape=(side, side, 3), dtype=np.uint8, tile=(tile, tile), photometric="rgb",
                     bigtiff=side * side * 3 > 2**31, compression="zlib")


def child(path: str, arch: str, prefetch: int, points: int) -> dict:
    """Measure one image in this process (see the module's docstring)."""
    import resource
    import time

    from app.autoseg import AutoParams, propose_instances
    from app.bench._models import sam_by_name
    from app.sam.engine import SamEngine
    from app.tiles import TileGrid
    from app.tiles.predictor import TiledPredictor
    from app.tiles.tiff_source import TiffSource

    sam, _ = sam_by_name(arch)
    engine = SamEngine(sam)
    side = sam.image_encoder.img_size
    t0 = time.perf_counter()
    source = TiffSource(path)
    grid = TileGrid(*source.size, tile=side, overlap=side // 4)
    tiled = TiledPredictor(engine, source, grid)
    h, w = source.size
    result = tiled.predict([[w / 2, h / 2]], [1])
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = tiled.prefetch_around(w / 2, h / 2, tiles=prefetch + 1)
    per_tile = (time.perf_counter() - t1) / max(1, report.embedded)
    tile = result.tile
    t2 = time.perf_counter()
    found = propose_instances(engine, source.region(tile.x0, tile.y0, tile.x1, tile.y1), AutoParams(
        points_per_side=points, pred_iou_thresh=0.0, stability_score_thresh=0.0))
    propose = time.perf_counter() - t2
    source.close()
    return {"tiles": len(grid.tiles), "first_mask_s": first, "per_tile_s": per_tile,
            "whole_embedding_s": per_tile * len(grid.tiles), "proposals": len(found),
            "propose_s_per_mp": propose / (tile.width * tile.height / 1e6),
            "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def run(args) -> int:
    import torch

    folder = Path(args.folder or tempfile.mkdtemp(prefix="mopeft-tiles-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"mopeft bench tiles --arch {args.arch} --sides {' '.join(map(str, args.sides))} --prefetch "
          f"{args.prefetch} --points-per-side {args.points_per_side} (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; tiles of the model's input, a quarter overlapping)")
    print("| side (px) | tiles | first mask (s) | per tile (s) | whole image embedded (s, tiles x per tile) "
          "| proposing (s / MP) | peak memory (GiB) |")
    print("|---|---|---|---|---|---|---|")
    for side in args.sides:
        path = folder / f"tiles-{side}.tif"
        if not path.is_file():
            write_tiff(path, side)
        code = (f"import json; from app.bench.tiles import child; "
                f"print(json.dumps(child({str(path)!r}, {args.arch!r}, {args.prefetch}, {args.points_per_side})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"error: the child for side {side} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
            return 1
        r = json.loads(out.stdout.splitlines()[-1])
        print(f"| {side:,} | {r['tiles']:,} | {r['first_mask_s']:.2f} | {r['per_tile_s']:.2f} | "
              f"{r['whole_embedding_s']:,.0f} | {r['propose_s_per_mp']:.2f} | {r['peak_gib']:.2f} |")
    return 0
