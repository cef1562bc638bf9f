"""Where an export may write: never into the project's store, over one of its images, or (PNG masks) into a folder
that holds its images, which later scans would then skip."""
from __future__ import annotations

import os
from pathlib import Path

from app.coco.errors import CocoError
from app.store import Project
from app.store.project import STORE_DIR


def check_export_target(project: Project, out: str | Path, png: bool) -> Path:
    """The absolute path an export to `out` writes (a COCO file, or with `png` a folder of masks).

    Raises CocoError naming `out` when it lies inside the project's `.mopeft` store folder, when a COCO file would
    replace one of the project's images, or when a PNG export would go into the project folder itself or into any
    folder holding project images (the legend it writes makes every later scan skip that folder).
    """
    target = Path(out).expanduser().resolve()
    folder = project.folder.resolve()
    store = folder / STORE_DIR
    if target.is_relative_to(store):
        raise CocoError(out, f"lies inside the project's store folder {store}, which only the app writes; "
                             "choose a place outside it")
    images = [(image.path, (folder / image.path).resolve()) for image in project.images.list()]
    if not png:
        replaced = next((name for name, path in images if _same_file(target, path)), None)
        if replaced is not None:
            raise CocoError(out, f"is the project's image {replaced}; the export would replace it. "
                                 "Choose another file name, such as annotations.json")
        return target
    if target == folder:
        raise CocoError(out, "is the project folder itself: a PNG export marks its folder as masks, so later scans "
                             "would skip every image of the project. Choose a subfolder (such as masks) or a folder "
                             "outside the project")
    inside = [name for name, path in images if path.is_relative_to(target)]
    if inside:
        raise CocoError(out, f"holds {len(inside)} of the project's images (such as {inside[0]}): a PNG export there "
                             "could overwrite them, and later scans would skip them. Choose a folder without images")
    return target


def _same_file(target: Path, image: Path) -> bool:
    """True when `target` names `image` (also through another spelling on a case-insensitive file system)."""
    if target == image:
        return True
    if target.name.casefold() != image.name.casefold():
        return False
    try:
        return os.path.samefile(target, image)
    except OSError:   # either does not exist
        return False
