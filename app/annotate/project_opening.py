"""Opening a folder for annotation: for writing if its disk allows, else read-only; then the first scan.

Shared by the window and anything else that opens a project to annotate it. Nothing here aborts on what the
folder holds: a read-only folder or medium opens read-only (browse and export), a scan that fails leaves the
project open with what it already had, and every problem comes back as text for the annotator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.store import Project, ProjectNotFoundError, ProjectNotWritableError, StoreError
from app.store.target import is_database_url


@dataclass
class OpenedProject:
    """An open project and what the annotator should hear about its opening.

    left_out: (file, reason) of the files the scan could not add. notes: what opening did (a temporary file
    removed...). problems: what went wrong but did not stop the opening (read-only, a failed scan).
    """

    project: Project
    left_out: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def open_for_annotation(folder: Path | str, follow_links: bool = False,
                        images_root: Path | None = None) -> OpenedProject:
    """Open (or create) the project of `folder`, or of a PostgreSQL URL (a shared project; `images_root`: where its
    images are, needed when it is new), and register its new images.

    Raises what Project.open raises when the project cannot be opened at all (locked, damaged, not found on a
    read-only folder...); ProjectNotWritableError opens it read-only instead, without a scan.
    """
    try:
        if is_database_url(folder):
            project = Project.open(folder, create=True, images_root=images_root)
        else:
            project = Project.open(folder, create=True)
    except ProjectNotWritableError as refused:
        try:
            project = Project.open(folder, readonly=True)
        except ProjectNotFoundError:
            raise refused from None         # a read-only folder that holds no project: nothing to browse
        return OpenedProject(project, notes=list(project.notes), problems=[
            f"read-only: {folder} cannot be written ({refused.reason}); browse and export only, no change is "
            "saved. Copy the folder to a writable disk to annotate it."])
    opened = OpenedProject(project, notes=list(project.notes))
    try:
        opened.left_out = project.images.scan(follow_links).skipped
    except (StoreError, OSError) as exc:
        opened.problems.append(f"Could not scan {folder} for new images; the images already in the project "
                               f"are shown:\n{exc}")
    return opened
