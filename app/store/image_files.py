"""Image files on disk: which files of a folder are project images, and their size in pixels."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.image_file import (TRANSPOSING_ORIENTATIONS, exif_orientation, is_image_file, is_large, is_tiff,
                            max_image_pixels, pillow_open, tiff_region_problem, too_many_pixels)
from app.store.errors import ImageFileError

# A folder holding this file is a PNG mask export (app.coco.png_export); its PNGs are not images to annotate.
PNG_EXPORT_LEGEND = "mopeft_png_legend.json"



@dataclass(frozen=True)
class ImageListing:
    """The image files of a folder: `paths` to register, and `left_out`: (name, reason) of those that cannot be."""

    paths: list[str]
    left_out: list[tuple[str, str]]


def list_image_files(folder: Path, follow_links: bool = False) -> ImageListing:
    """The supported image files under `folder`, recursively: relative paths ('/' separators, sorted).

    Hidden files and folders (names starting with '.', hence also `.mopeft`) are left out silently, and so are
    folders holding a PNG mask export. Names that are not valid UTF-8 (the database stores text) are left out
    with a reason, shown with their odd bytes escaped. Symbolic links to a file or folder outside `folder`
    are left out with a reason unless `follow_links`; links to folders inside it are not entered (what they
    point to is scanned where it lies).
    """
    folder = Path(os.path.realpath(folder))
    found, left_out, entered = [], [], {str(folder)}
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        if PNG_EXPORT_LEGEND in files:
            dirs[:] = []
            continue
        rel_root = Path(root).relative_to(folder)
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            path = Path(root) / name
            if not _is_utf8(name):
                left_out.append((shown_name(rel_root / name), _NOT_UTF8 + "; nothing in this folder was added"))
            elif not path.is_symlink():
                kept.append(name)
            elif follow_links and _outside(path, folder):
                target = os.path.realpath(path)
                if target not in entered and not _inside(folder, Path(target)):   # no loop, no second walk
                    entered.add(target)
                    kept.append(name)
            elif _outside(path, folder):
                left_out.append(((rel_root / name).as_posix(), _link_reason(path, "folder")))
        dirs[:] = kept
        for name in files:
            if name.startswith(".") or not is_image_file(name):
                continue
            path = Path(root) / name
            if not _is_utf8(name):
                left_out.append((shown_name(rel_root / name), _NOT_UTF8))
            elif not follow_links and path.is_symlink() and _outside(path, folder):
                left_out.append(((rel_root / name).as_posix(), _link_reason(path, "file")))
            else:
                found.append((rel_root / name).as_posix())
    return ImageListing(sorted(found), sorted(left_out))


def _outside(link: Path, folder: Path) -> bool:
    """True when the symbolic link `link` resolves to a place outside `folder` (a resolved path)."""
    return not _inside(Path(os.path.realpath(link)), folder)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _link_reason(link: Path, kind: str) -> str:
    return (f"a symbolic link to a {kind} outside the project folder ({shown_name(os.readlink(link))}); "
            "not followed. Start the app with --follow-links to include what it points to")


_NOT_UTF8 = "the name is not valid UTF-8, so the project cannot record it; rename the file to include it"


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.walk hands undecodable bytes over as lone surrogates
        return False
    return True


def shown_name(path: str | os.PathLike) -> str:
    """A path as text that can always be shown and stored: bytes that are not UTF-8 written as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace").replace(os.sep, "/")


def read_image_size(path: Path) -> tuple[int, int]:
    """(width, height) of the image as displayed, read from its header without decoding the pixels.

    TIFF files (known by their first bytes, app.image_file.is_tiff) are read with tifffile (any axis order,
    e.g. YXS or ZYX stacks); other types with Pillow, with width and height swapped when the EXIF
    orientation turns the picture by 90 degrees, as the image loader shows it. An image above the loader's
    pixel limit (app.image_file, $MOPEFT_MAX_IMAGE_PIXELS) is refused with the loader's reason, unless it is a
    large TIFF read region by region (`app.image_file.tiff_region_problem`), which is never decoded whole.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        width, height, by_regions = _tiff_size(path) if is_tiff(head) else (*_pillow_size(path), False)
        problem = None if by_regions else too_many_pixels(width, height, max_image_pixels())
    except ImageFileError:
        raise
    except Exception as exc:  # the readers raise many kinds on a broken file
        raise ImageFileError(path, f"cannot read the image size ({exc})") from exc
    if problem:
        raise ImageFileError(path, problem)
    return width, height


def _tiff_size(path: Path) -> tuple[int, int, bool]:
    """(width, height, whether it is a large TIFF read region by region)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes, shape = series.axes, series.shape
        readable = tiff_region_problem(series) is None
    if "Y" in axes and "X" in axes:
        width, height = int(shape[axes.index("X")]), int(shape[axes.index("Y")])
        return width, height, readable and is_large(width, height)
    raise ImageFileError(path, f"a TIFF without Y and X axes (axes {axes}, shape {shape})")


def _pillow_size(path: Path) -> tuple[int, int]:
    with pillow_open(path) as im:
        width, height = im.size
        orientation = exif_orientation(im)
    if orientation in TRANSPOSING_ORIENTATIONS:
        width, height = height, width
    return int(width), int(height)
