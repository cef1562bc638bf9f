"""`mopeft export`: write a project's instances as a COCO file or as PNG masks."""
from __future__ import annotations

import sys

from app.cli._project import add_project_arguments, open_project


def register(sub) -> None:
    p = sub.add_parser("export", help="export a project's instances as COCO JSON or PNG masks",
                       description="Export a project's instances. Reads the project read-only, so it also works "
                                   "while the app has it open. Refuses a target that would overwrite the project "
                                   "(inside .mopeft, one of its images, or a PNG export into a folder of its images).")
    add_project_arguments(p)
    p.add_argument("--format", choices=("coco", "png"), default="coco",
                   help="coco: one instances JSON file (default); png: a folder of instance and semantic PNGs")
    p.add_argument("--out", required=True, help="the JSON file (coco) or the folder (png) to write")
    p.add_argument("--polygons", action="store_true",
                   help="coco only: polygons instead of RLE; instances with holes stay RLE (reported)")
    p.set_defaults(run=run, parser=p)


def run(args) -> int:
    from app.coco.errors import CocoError
    from app.coco.export_job import run_export
    from app.store import StoreError

    if args.polygons and args.format != "coco":
        args.parser.error("--polygons applies to --format coco only")
    fmt = "coco-polygons" if args.polygons else args.format
    try:
        with open_project(args, readonly=True) as project:
            done = run_export(project, args.out, fmt)
    except (StoreError, CocoError, OSError) as exc:
        print(f"mopeft export: error: {exc}", file=sys.stderr)
        return 1
    print(done.summary)
    for note in done.notes:
        print(note, file=sys.stderr)
    return 0
