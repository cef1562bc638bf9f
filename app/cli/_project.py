"""The `--project` of every command: a folder, or a PostgreSQL URL with `--images-root` for where its images are."""
from __future__ import annotations

PROJECT_HELP = ("the project: its folder, or postgresql://USER@HOST/DATABASE (no password in the URL: libpq reads it "
                "from ~/.pgpass, a service file or PGPASSWORD)")


def add_project_arguments(parser, project_help: str = PROJECT_HELP) -> None:
    """Add `--project` and `--images-root` to a command's parser."""
    parser.add_argument("--project", required=True, help=project_help)
    parser.add_argument("--images-root", metavar="FOLDER",
                        help="project on a database only: the folder of its images on this machine (default: the "
                             "one recorded in the database, mapped by images-roots.json in the config folder)")


def open_project(args, **options):
    """`Project.open(args.project, ...)` with `--images-root` when given (a folder project refuses it)."""
    from app.store import Project, StoreError
    from app.store.target import is_database_url

    if args.images_root is not None and not is_database_url(args.project):
        raise StoreError(f"--images-root is for a project on a database; {args.project} is a folder, whose images "
                         "are the folder itself")
    if args.images_root is not None:
        options["images_root"] = args.images_root
    return Project.open(args.project, **options)
