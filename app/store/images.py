"""The images of a project: scanning the folder, per-image status, and checking files against their hashes."""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from app.image_file import is_image_file
from app.store.database import Database, utc_now
from app.store.errors import ImageFileError, NotFoundError, StoreError
from app.store.hashing import file_hash
from app.store.image_files import list_image_files, read_image_size
from app.store.records import Image, ImageCheck, ImageStatus, MovedImage, ScanResult

_COLUMNS = "id, path, width, height, content_hash, status, added_at"


def _image(row: tuple) -> Image:
    return Image(row[0], row[1], row[2], row[3], row[4], ImageStatus(row[5]), row[6])


class ImageTable:
    """`project.images`: the image files registered in the project."""

    def __init__(self, db: Database, folder: Path):
        self._db = db
        self._folder = folder

    def relative_path(self, path: str | os.PathLike) -> str:
        """`path` (absolute, or relative to the project folder) as the project stores it; it must lie inside."""
        given = Path(path)
        absolute = Path(os.path.normpath(given if given.is_absolute() else self._folder / given))
        try:
            relative = absolute.relative_to(self._folder)
        except ValueError:
            raise ImageFileError(path, f"not inside the project folder {self._folder}") from None
        if not relative.parts or relative.parts[0] == ".mopeft":
            raise ImageFileError(path, "not an image file of the project")
        return PurePosixPath(*relative.parts).as_posix()

    def scan(self, follow_links: bool = False) -> ScanResult:
        """Register the image files of the folder that are not registered yet (recursive, hidden folders skipped).

        A new file whose content is that of a registered image whose file is gone is not added: it is probably
        that image, moved; `verify()` reports it and `relocate()` accepts the move. Unreadable files, names that
        are not UTF-8 and symbolic links pointing outside the folder (unless `follow_links`) are skipped with
        the reason. All additions are committed together.
        """
        known = {row[0] for row in self._db.rows("SELECT path FROM images")}
        missing_hashes = {h for p, h in self._db.rows("SELECT path, content_hash FROM images")
                          if not (self._folder / p).is_file()}
        listing = list_image_files(self._folder, follow_links)
        rows, skipped = [], list(listing.left_out)
        for rel in listing.paths:
            if rel in known:
                continue
            path = self._folder / rel
            try:
                width, height = read_image_size(path)
                digest = file_hash(path)
            except (ImageFileError, OSError) as exc:
                skipped.append((rel, str(exc)))
                continue
            if digest in missing_hashes:
                skipped.append((rel, "same content as a registered image whose file is missing (moved?); "
                                     "see verify()"))
                continue
            rows.append((rel, width, height, digest, utc_now()))
        try:
            with self._db.transaction() as conn:
                ids = [conn.insert("INSERT INTO images (path, width, height, content_hash, added_at) "
                                   "VALUES (?, ?, ?, ?, ?)", row) for row in rows]
        except self._db.driver_errors as exc:   # a full disk, say: nothing was added
            raise self._db.store_error(exc) from exc
        return ScanResult([self.get(i) for i in ids], skipped)

    def add(self, path: str | os.PathLike) -> Image:
        """Register one image file (absolute, or relative to the project folder); returns it if already there."""
        rel = self.relative_path(path)
        existing = self.find(rel)
        if existing is not None:
            return existing
        absolute = self._folder / rel
        if not is_image_file(rel):
            raise ImageFileError(absolute, "not a supported image type")
        if not absolute.is_file():
            raise ImageFileError(absolute, "no such file")
        width, height = read_image_size(absolute)
        digest = file_hash(absolute)
        with self._db.transaction() as conn:
            image_id = conn.insert("INSERT INTO images (path, width, height, content_hash, added_at) "
                                   "VALUES (?, ?, ?, ?, ?)", (rel, width, height, digest, utc_now()))
        return self.get(image_id)

    def get(self, image_id: int) -> Image:
        """The image with this id; NotFoundError if there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM images WHERE id = ?", (image_id,))
        if row is None:
            raise NotFoundError(f"no image with id {image_id} in this project")
        return _image(row)

    def find(self, path: str | os.PathLike) -> Image | None:
        """The image registered at this path (absolute or relative), or None."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM images WHERE path = ?", (self.relative_path(path),))
        return None if row is None else _image(row)

    def list(self) -> list[Image]:
        """Every image, ordered by path."""
        return [_image(r) for r in self._db.rows(f"SELECT {_COLUMNS} FROM images ORDER BY path")]

    def set_status(self, image_id: int, status: ImageStatus | str) -> Image:
        """Mark an image new, in progress or done."""
        status = ImageStatus(status)
        with self._db.transaction() as conn:
            if conn.execute("UPDATE images SET status = ? WHERE id = ?", (status.value, image_id)).rowcount == 0:
                raise NotFoundError(f"no image with id {image_id} in this project")
        return self.get(image_id)

    def verify(self) -> ImageCheck:
        """Compare every image file with its recorded content hash.

        Missing files are looked for among the unregistered image files of the folder and the changed
        registered ones, by content: found ones are reported as moved (with their new path), not matched
        silently. Reads every image file once; nothing is changed.
        """
        images = self.list()
        missing, changed, current = [], [], {}
        for image in images:
            path = self._folder / image.path
            if not path.is_file():
                missing.append(image)
                continue
            digest = file_hash(path)
            if digest != image.content_hash:
                changed.append(image)
                current[image.path] = digest
        moved = []
        if missing:
            registered = {image.path for image in images}
            for rel in list_image_files(self._folder).paths:
                if rel not in registered:
                    current[rel] = file_hash(self._folder / rel)
            by_hash = {}
            for rel, digest in sorted(current.items()):
                by_hash.setdefault(digest, rel)
            still_missing = []
            for image in missing:
                new_path = by_hash.pop(image.content_hash, None)
                if new_path is None:
                    still_missing.append(image)
                else:
                    moved.append(MovedImage(image, new_path))
            missing = still_missing
        return ImageCheck(missing, changed, moved)

    def relocate(self, image_id: int, new_path: str | os.PathLike) -> Image:
        """Point an image at its file's new path, after checking that the file there has the recorded content."""
        image = self.get(image_id)
        rel = self.relative_path(new_path)
        other = self.find(rel)
        if other is not None and other.id != image_id:
            raise StoreError(f"{rel} is already registered as image {other.id}; it cannot also be image {image_id}")
        if not (self._folder / rel).is_file() or file_hash(self._folder / rel) != image.content_hash:
            raise ImageFileError(self._folder / rel, f"does not hold the content recorded for {image.path}")
        with self._db.transaction() as conn:
            conn.execute("UPDATE images SET path = ? WHERE id = ?", (rel, image_id))
        return self.get(image_id)

    def accept_change(self, image_id: int) -> Image:
        """Record the new content hash of an image whose file changed but kept its size (masks stay valid)."""
        image = self.get(image_id)
        path = self._folder / image.path
        width, height = read_image_size(path)
        if (width, height) != (image.width, image.height):
            raise ImageFileError(path, f"is now {width}x{height} pixels, no longer {image.width}x{image.height}; "
                                       "its masks no longer fit it")
        with self._db.transaction() as conn:
            conn.execute("UPDATE images SET content_hash = ? WHERE id = ?", (file_hash(path), image_id))
        return self.get(image_id)
