"""`mopeft migrate`: move a project between a folder and a PostgreSQL database (either way, or two of a kind),
exactly: every instance, label, adapter version and run record keeps its id (app.store.transfer)."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("migrate", help="move a project between a folder and a PostgreSQL database, exactly",
                       description="Copy a project into an empty destination: ids, labels, instances, proposals, "
                                   "adapter versions (their files copied and checked) and training runs. The source "
                                   "is only read. A destination that holds a project with data is refused. Images "
                                   "are not copied: a folder destination must be the images' folder or hold a copy.")
    p.add_argument("--from", dest="source", required=True, metavar="SRC",
                   help="the project to move: a folder, or postgresql://USER@HOST/DATABASE")
    p.add_argument("--to", dest="destination", required=True, metavar="DST",
                   help="where to: a folder, or postgresql://USER@HOST/DATABASE (an existing, empty database; no "
                        "password in the URL: libpq reads it from ~/.pgpass, a service file or PGPASSWORD)")
    p.add_argument("--images-root", metavar="FOLDER",
                   help="the images' folder for the database side: recorded in a new database (default: the "
                        "source's folder), or where a database source's images are on this machine")
    p.set_defaults(run=run)


def run(args) -> int:
    from app.store import Project, StoreError
    from app.store.target import checked_url, is_database_url
    from app.store.transfer import move_project

    if not (is_database_url(args.source) or is_database_url(args.destination)) and args.images_root:
        print("mopeft migrate: error: --images-root is for a database side; both sides are folders", file=sys.stderr)
        return 2
    try:
        for side in (args.source, args.destination):    # before anything is opened or made
            if is_database_url(side):
                checked_url(side)
        source = Project.open(args.source, readonly=True,
                              **_root(args.source, args.images_root if is_database_url(args.source) else None))
    except (StoreError, OSError) as exc:
        print(f"mopeft migrate: error: {exc}", file=sys.stderr)
        return 1
    with source:
        if _same(source.location, args.destination):
            print(f"mopeft migrate: error: {args.destination} is the source itself", file=sys.stderr)
            return 2
        root = args.images_root if is_database_url(args.destination) and args.images_root else str(source.folder)
        try:
            destination = Project.open(args.destination, create=True, **_root(args.destination, root))
        except (StoreError, OSError) as exc:
            print(f"mopeft migrate: error: {exc}", file=sys.stderr)
            return 1
        with destination:
            print(f"moving {source.location} to {destination.location}", file=sys.stderr)
            try:
                moved = move_project(source, destination, _progress)
            except (StoreError, OSError) as exc:
                if destination.created:     # a destination made for this move is removed again
                    destination.remove_if_empty()
                print(f"mopeft migrate: error: {exc}", file=sys.stderr)
                return 1
    for note in moved.notes:
        print(note, file=sys.stderr)
    if moved.missing_images:
        print(f"warning: {len(moved.missing_images)} image file(s) are not under {destination.folder} (such as "
              f"{moved.missing_images[0]}); copy them there before annotating", file=sys.stderr)
    counts = ", ".join(f"{n} {table}" for table, n in moved.rows.items())
    print(f"moved {source.location} to {destination.location}: {counts}; {moved.files_copied} adapter file(s) "
          f"copied, {moved.checksums_added} checksum(s) added")
    return 0


def _root(target: str, images_root: str | None) -> dict:
    from app.store.target import is_database_url

    return {"images_root": images_root} if is_database_url(target) and images_root is not None else {}


def _same(location: str, other: str) -> bool:
    from app.store.target import is_database_url

    if is_database_url(other) or is_database_url(location):
        return location == other
    return Path(location).resolve() == Path(other).expanduser().resolve()


def _progress(table: str, done: int, total: int) -> None:
    print(f"[migrate] {table}: {done}/{total}", file=sys.stderr)
