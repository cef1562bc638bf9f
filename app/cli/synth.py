"""`mopeft synth`: write synthetic annotated scenes of one domain as PNGs plus a COCO file."""
from __future__ import annotations

import sys

DOMAIN_NAMES = ("shapes", "cells", "texture", "camouflage", "holdout")


def register(sub) -> None:
    p = sub.add_parser("synth", help="write synthetic scenes (PNG images + COCO JSON) for training and tests",
                       description="Write COUNT synthetic scenes of each DOMAIN into OUT: OUT/images/*.png and "
                                   "OUT/annotations.json (COCO instances, RLE). The same seed gives the same files.")
    p.add_argument("--domain", required=True,
                   help="shapes (the pretraining domain), holdout (a second in-domain generator, for validation "
                        "only), cells, texture or camouflage (out of domain); "
                        "several as a comma-separated list")
    p.add_argument("--count", type=int, required=True, help="number of scenes of each domain")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    p.add_argument("--out", required=True, help="folder to write into (created if needed)")
    p.set_defaults(run=run, parser=p)


def run(args) -> int:
    from itertools import chain

    from app.coco.errors import CocoError
    from app.synth.coco_folder import write_dataset
    from app.synth.scenes import generate

    domains = [d.strip() for d in args.domain.split(",") if d.strip()]
    unknown = [d for d in domains if d not in DOMAIN_NAMES]
    if unknown or not domains:
        args.parser.error(f"unknown --domain {', '.join(unknown) or args.domain!r}; known: {', '.join(DOMAIN_NAMES)}")
    if args.count < 1 or args.size < 32:
        args.parser.error("--count must be at least 1 and --size at least 32")
    scenes = chain.from_iterable(generate(d, args.count, args.seed, args.size) for d in domains)
    try:
        done = write_dataset(scenes, args.out)
    except (CocoError, OSError) as exc:
        print(f"mopeft synth: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {done.path}: {done.images} images, {done.annotations} annotations")
    return 0
