"""`mopeft embed FOLDER`: precompute the SAM embeddings of a folder's images into the embedding cache."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO


class CountProgress:
    """`progress(done, total, name)` callback: `[#####-----] 12/40  name.png` redrawn on one line of a
    terminal, or one such line per call on a stream that is not a terminal (a log file)."""

    def __init__(self, stream: TextIO, width: int = 30):
        self.stream, self.width = stream, width
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int, name: str) -> None:
        filled = self.width * done // max(total, 1)
        line = f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{total}  {Path(name).name}"
        if self.tty:
            self.stream.write(f"\r{line}\033[K" + ("\n" if done == total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def register(sub) -> None:
    p = sub.add_parser("embed", help="precompute a folder's image embeddings into the cache, with progress",
                       description="Embed every image of FOLDER (png, jpg, bmp, tif) with SAM and store the "
                                   "embeddings in the embedding cache, so the app opens them without waiting. "
                                   "Images already cached are skipped once their cache file is read and checked "
                                   "(a damaged one is embedded again); files that cannot be read are named "
                                   "and skipped (exit status 1 when there were any).")
    p.add_argument("folder", type=Path, help="folder of images (not searched recursively)")
    p.add_argument("--model", default="demo",
                   help="registered checkpoint name (demo, vit_b, vit_l, vit_h, sam2.1_hiera_t, _s, _b+, _l) or a "
                        "checkpoint file, SAM 1 or SAM 2.1 (default: demo)")
    p.add_argument("--random-weights", action="store_true",
                   help="build --model (an architecture name, SAM 1 or SAM 2.1) with random weights instead of "
                        "loading a checkpoint; for benchmarks and tests only")
    p.add_argument("--cache-dir", type=Path, help="embedding cache folder (default: the per-user cache folder)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="compute device (default: the best available)")
    p.set_defaults(run=run)


def _load_model(args):
    from app.device import choose_device
    from app.models.any_family import build_any_sam, load_any_sam

    device = choose_device(args.device)
    if args.random_weights:
        return build_any_sam(args.model).to(device.device), device.reason
    return load_any_sam(args.model, device=device.device).sam, device.reason


def run(args) -> int:
    from app.image_file import is_image_file
    from app.models.any_family import engine_for
    from app.sam.embedding_cache import EmbeddingCache

    if not args.folder.is_dir():
        print(f"error: {args.folder}: not a folder", file=sys.stderr)
        return 2
    files = sorted(p for p in args.folder.iterdir() if p.is_file() and is_image_file(p.name))
    if not files:
        print(f"error: {args.folder}: no image files (png, jpg, bmp, tif) in this folder", file=sys.stderr)
        return 2
    try:
        sam, reason = _load_model(args)
    except ValueError as exc:  # CheckpointError and bad --device/--model are ValueErrors with the cause named
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cache = EmbeddingCache(args.cache_dir)
    engine = engine_for(sam, cache)
    print(f"embedding {len(files)} images from {args.folder} with {args.model}; device: {reason}", file=sys.stderr)
    print(f"cache: {cache.directory}", file=sys.stderr)
    progress = CountProgress(sys.stderr)
    progress(0, len(files), "")
    report = engine.prefetch(files, progress=progress)
    for message in report.failed:
        print(f"skipped {message}", file=sys.stderr)
    print(f"{report.embedded} embedded, {report.cached} already cached, {len(report.failed)} skipped",
          file=sys.stderr)
    return 1 if report.failed else 0
