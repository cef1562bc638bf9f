"""One export of a project as `mopeft export` and the window run it: check the image files, write the COCO file
or the PNG masks with progress and cancel, and say what was written in words the annotator reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.coco.export import Cancel, Progress, export_coco
from app.coco.png_export import export_png
from app.store import ImageCheck, Project

FORMATS = {"coco": "COCO, RLE masks", "coco-polygons": "COCO, polygons", "png": "PNG masks"}
"""The export formats by name, with what the window calls them."""

LISTED = 20
"""Image names a warning lists before giving only a count."""


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote (`summary`, one line) and what the user should know about it (`notes`)."""

    target: Path
    summary: str
    notes: list[str] = field(default_factory=list)


def run_export(project: Project, out: str | Path, fmt: str, progress: Progress | None = None,
               cancel: Cancel | None = None) -> ExportResult:
    """Export `project` to `out` in format `fmt` (a key of FORMATS).

    Raises CocoError (a target that would overwrite the project, a record that is not JSON), StoreError, OSError
    (a full disk, a folder that cannot be written: the message names the file), or ExportCancelled.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    notes = [warning] if (warning := changed_images_warning(project.images.verify())) else []
    if fmt == "png":
        done = export_png(project, out, progress, cancel)
        return ExportResult(done.folder, f"wrote {done.folder}: {done.images} images, {done.instances} instances "
                                         f"({done.sixteen_bit_images} images needed 16-bit instance PNGs)", notes)
    polygons = fmt == "coco-polygons"
    done = export_coco(project, out, polygons=polygons, progress=progress, cancel=cancel)
    if done.kept_as_rle:
        kept = done.kept_as_rle
        ids = ", ".join(str(i) for i, _ in kept[:LISTED]) + (" ..." if len(kept) > LISTED else "")
        notes.append(f"note: {len(kept)} instance(s) have holes, which COCO polygons cannot express; "
                     f"they were written as RLE to keep the holes: {ids}")
    return ExportResult(done.path, f"wrote {done.path}: {done.images} images, {done.annotations} annotations "
                                   f"({'polygons' if polygons else 'RLE'})", notes)


def changed_images_warning(check: ImageCheck) -> str | None:
    """The warning about images whose files no longer match what the project recorded, or None when all match."""
    if check.ok:
        return None
    problems = ([f"{image.path} (changed)" for image in check.changed]
                + [f"{image.path} (missing)" for image in check.missing]
                + [f"{moved.image.path} (moved to {moved.new_path})" for moved in check.moved])
    more = f" and {len(problems) - LISTED} more" if len(problems) > LISTED else ""
    return (f"warning: {len(problems)} image file(s) differ from what the project recorded: "
            f"{', '.join(problems[:LISTED])}{more}. Their masks were drawn on the file content recorded when each "
            "image was added and are exported as recorded; check these images in the app before using the export.")
