"""`mopeft import`: add the annotations of a COCO instances file to a project."""
from __future__ import annotations

import sys

from app.cli._project import add_project_arguments, open_project


def register(sub) -> None:
    p = sub.add_parser("import", help="import a COCO instances file into a project",
                       description="Import a COCO instances file (RLE or polygons). file_name is relative to the "
                                   "project folder; labels are matched by name and created when missing. On any "
                                   "problem nothing is imported.")
    add_project_arguments(p, "the project folder, or a postgresql://USER@HOST/DATABASE URL (one with no project gets "
                             "one, kept only if the import succeeds; a new one on a database needs --images-root)")
    p.add_argument("file", help="the COCO instances JSON file")
    p.set_defaults(run=run)


def run(args) -> int:
    from app.coco.errors import CocoError
    from app.coco.importer import import_coco
    from app.store import StoreError

    try:
        with open_project(args, create=True) as project:
            try:
                done = import_coco(project, args.file)
            except BaseException:
                if project.created:      # a failed import into a folder without a project leaves none behind
                    project.remove_if_empty()
                raise
    except (StoreError, CocoError, OSError) as exc:
        print(f"mopeft import: error: {exc}", file=sys.stderr)
        return 1
    created = f"; new labels: {', '.join(done.labels_created)}" if done.labels_created else ""
    skipped = f"; {done.duplicates_skipped} already there, skipped" if done.duplicates_skipped else ""
    print(f"imported {done.annotations_added} annotations from {done.path} "
          f"({done.images_added} new images{created}{skipped})")
    return 0
