"""`mopeft export`: write a project's instances as a COCO file or as PNG masks."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.store import ImageCheck

_LISTED = 20   # image names a warning lists before giving only a count


def register(sub) -> None:
    p = sub.add_parser("export", help="export a project's instances as COCO JSON or PNG masks",
                       description="Export a project's instances. Reads the project read-only, so it also works "
                                   "while the app has it open.")
    p.add_argument("--project", required=True, help="the project folder")
    p.add_argument("--format", choices=("coco", "png"), default="coco",
                   help="coco: one instances JSON file (default); png: a folder of instance and semantic PNGs")
    p.add_argument("--out", required=True, help="the JSON file (coco) or the folder (png) to write")
    p.add_argument("--polygons", action="store_true",
                   help="coco only: polygons instead of RLE; instances with holes stay RLE (reported)")
    p.set_defaults(run=run, parser=p)


def run(args) -> int:
    from app.coco.errors import CocoError
    from app.coco.export import export_coco
    from app.coco.png_export import export_png
    from app.store import Project, StoreError

    if args.polygons and args.format != "coco":
        args.parser.error("--polygons applies to --format coco only")
    try:
        with Project.open(args.project, readonly=True) as project:
            _warn_about_changed_images(project.images.verify())
            if args.format == "png":
                done = export_png(project, args.out)
                print(f"wrote {done.folder}: {done.images} images, {done.instances} instances "
                      f"({done.sixteen_bit_images} images needed 16-bit instance PNGs)")
                return 0
            done = export_coco(project, args.out, polygons=args.polygons)
    except (StoreError, CocoError, OSError) as exc:
        print(f"mopeft export: error: {exc}", file=sys.stderr)
        return 1
    kind = "polygons" if args.polygons else "RLE"
    print(f"wrote {done.path}: {done.images} images, {done.annotations} annotations ({kind})")
    if done.kept_as_rle:
        ids = ", ".join(str(i) for i, _ in done.kept_as_rle[:20]) + (" ..." if len(done.kept_as_rle) > 20 else "")
        print(f"note: {len(done.kept_as_rle)} instance(s) have holes, which COCO polygons cannot express; "
              f"they were written as RLE to keep the holes: {ids}", file=sys.stderr)
    return 0


def _warn_about_changed_images(check: ImageCheck) -> None:
    """Print to stderr the images whose files no longer match what the project recorded, if any."""
    if check.ok:
        return
    problems = ([f"{image.path} (changed)" for image in check.changed]
                + [f"{image.path} (missing)" for image in check.missing]
                + [f"{moved.image.path} (moved to {moved.new_path})" for moved in check.moved])
    more = f" and {len(problems) - _LISTED} more" if len(problems) > _LISTED else ""
    print(f"warning: {len(problems)} image file(s) differ from what the project recorded: "
          f"{', '.join(problems[:_LISTED])}{more}. Their masks were drawn on the file content recorded when each "
          "image was added and are exported as recorded; check these images in the app before using the export.",
          file=sys.stderr)
