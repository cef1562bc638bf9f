"""The instances of a project: one mask with a label on one image, stored as COCO RLE."""
from __future__ import annotations

import numpy as np

from app.store.database import Database, utc_now
from app.store.errors import ConcurrentChangeError, MaskError, NotFoundError, StoreError
from app.store.masks import mask_to_rle, rle_area, rle_bbox
from app.store.records import ImageStatus, Instance, InstanceSource, UneditedCount

_COLUMNS = ("i.id, i.image_id, i.label_id, i.rle, i.area, i.bbox_x, i.bbox_y, i.bbox_w, i.bbox_h, i.source, "
            "i.created_at, i.updated_at, m.height, m.width, i.unedited, i.proposal_id, i.revision")
_FROM = "FROM instances i JOIN images m ON m.id = i.image_id"


def _instance(row: tuple) -> Instance:
    rle = {"size": [row[12], row[13]], "counts": row[3]}
    return Instance(row[0], row[1], row[2], rle, row[4], (row[5], row[6], row[7], row[8]),
                    InstanceSource(row[9]), row[10], row[11], None if row[14] is None else bool(row[14]), row[15],
                    row[16])


class InstanceTable:
    """`project.instances`: masks given as HxW bool arrays or their RLE, returned as records, kept as compressed RLE."""

    def __init__(self, db: Database):
        self._db = db

    def add(self, image_id: int, label_id: int, mask: np.ndarray | dict,
            source: InstanceSource | str = InstanceSource.MODEL, unedited: bool | None = None,
            proposal_id: int | None = None) -> Instance:
        """Store a new instance and commit it. A 'new' image becomes 'in progress'.

        `mask` must be a bool array of the image's height x width, or its compressed COCO RLE ({'size': [h, w],
        'counts': str or bytes}, what a large image's crop encodes to), with at least one pixel set (MaskError).
        `unedited` (see `Instance.unedited`) is kept for SAM's masks only: any other source is never unedited.
        `proposal_id` links the proposal of the same image it was accepted from, which becomes accepted; a proposal
        that is gone (its image's proposals were made again) or already accepted raises NotFoundError/StoreError.
        """
        source = InstanceSource(source)
        unedited = _unedited_value(source, unedited)
        with self._db.transaction() as conn:
            rle = self._encode(conn, image_id, mask)
            self._check_label(conn, label_id)
            if proposal_id is not None:
                self._check_proposal(conn, image_id, proposal_id)
            now = utc_now()
            instance_id = conn.insert(
                "INSERT INTO instances (image_id, label_id, rle, area, bbox_x, bbox_y, bbox_w, bbox_h, source, "
                "created_at, updated_at, unedited, proposal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (image_id, label_id, rle["counts"], rle_area(rle), *rle_bbox(rle), source.value, now, now,
                 unedited, proposal_id))
            conn.execute("UPDATE images SET status = ? WHERE id = ? AND status = ?",
                         (ImageStatus.IN_PROGRESS.value, image_id, ImageStatus.NEW.value))
            self._db.image_changed(conn, image_id)
        return self.get(instance_id)

    def update(self, instance_id: int, *, mask: np.ndarray | dict | None = None, label_id: int | None = None,
               source: InstanceSource | str | None = None, revision: int | None = None) -> Instance:
        """Change an instance's mask, label and/or source; what is not given stays as it was. A new mask, or a
        source other than SAM, makes it no longer unedited. `revision`: the one the caller read; when another
        client has changed the instance since, nothing changes and ConcurrentChangeError says so."""
        with self._db.transaction() as conn:
            self._claim_revision(conn, instance_id, revision)
            current = self.get(instance_id)
            self._db.image_changed(conn, current.image_id)
            now = utc_now()
            if mask is not None:
                rle = self._encode(conn, current.image_id, mask)
                conn.execute("UPDATE instances SET rle = ?, area = ?, bbox_x = ?, bbox_y = ?, bbox_w = ?, "
                             "bbox_h = ?, unedited = 0, updated_at = ? WHERE id = ?",
                             (rle["counts"], rle_area(rle), *rle_bbox(rle), now, instance_id))
            if label_id is not None:
                self._check_label(conn, label_id)
                conn.execute("UPDATE instances SET label_id = ?, updated_at = ? WHERE id = ?",
                             (label_id, now, instance_id))
            if source is not None:
                source = InstanceSource(source)
                conn.execute("UPDATE instances SET source = ?, unedited = CASE WHEN ? THEN unedited ELSE 0 END, "
                             "updated_at = ? WHERE id = ?",
                             (source.value, source == InstanceSource.MODEL, now, instance_id))
        return self.get(instance_id)

    def delete(self, instance_id: int, revision: int | None = None) -> None:
        """Delete an instance and commit; the proposal it was accepted from, if any, becomes rejected. `revision`:
        the one the caller read (ConcurrentChangeError, nothing deleted, when another client changed it since)."""
        with self._db.transaction() as conn:
            if revision is not None:
                self._claim_revision(conn, instance_id, revision)
            row = conn.execute("DELETE FROM instances WHERE id = ? RETURNING image_id", (instance_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no instance with id {instance_id} in this project")
            self._db.image_changed(conn, row[0])

    @staticmethod
    def _claim_revision(conn, instance_id: int, revision: int | None) -> None:
        """Raise the instance's revision, in one statement that only matches the `revision` the caller read (any,
        when None); ConcurrentChangeError when another client changed or deleted it since."""
        if revision is None:
            conn.execute("UPDATE instances SET revision = revision + 1 WHERE id = ?", (instance_id,))
        elif conn.execute("UPDATE instances SET revision = revision + 1 WHERE id = ? AND revision = ?",
                          (instance_id, revision)).rowcount == 0:
            gone = conn.execute("SELECT 1 FROM instances WHERE id = ?", (instance_id,)).fetchone() is None
            raise ConcurrentChangeError(f"another annotator {'deleted' if gone else 'changed'} instance "
                                        f"{instance_id} meanwhile; their change is kept")

    def get(self, instance_id: int) -> Instance:
        """The instance with this id; NotFoundError if there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} {_FROM} WHERE i.id = ?", (instance_id,))
        if row is None:
            raise NotFoundError(f"no instance with id {instance_id} in this project")
        return _instance(row)

    def for_image(self, image_id: int) -> list[Instance]:
        """The instances of one image, oldest first."""
        return [_instance(r) for r in self._db.rows(f"SELECT {_COLUMNS} {_FROM} WHERE i.image_id = ? "
                                                    "ORDER BY i.id", (image_id,))]

    def counts_per_image(self) -> dict[int, int]:
        """Number of instances of every image (0 included), keyed by image id."""
        return dict(self._db.rows("SELECT m.id, count(i.id) FROM images m "
                                  "LEFT JOIN instances i ON i.image_id = m.id GROUP BY m.id"))

    def unedited_count(self) -> UneditedCount:
        """How many instances were accepted unedited, how many are not known to be either, and the total."""
        row = self._db.row("SELECT coalesce(sum(CASE WHEN unedited = 1 THEN 1 ELSE 0 END), 0), "
                           "coalesce(sum(CASE WHEN unedited IS NULL THEN 1 ELSE 0 END), 0), count(*) FROM instances")
        return UneditedCount(*row)

    @staticmethod
    def _encode(conn, image_id: int, mask: np.ndarray | dict) -> dict:
        row = conn.execute("SELECT path, height, width FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no image with id {image_id} in this project")
        path, height, width = row
        if isinstance(mask, dict):
            return _checked_rle(mask, path, height, width)
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.ndim != 2:
            kind = f"{mask.dtype} array of shape {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
            raise MaskError(f"a mask must be a 2-D bool array; got a {kind}")
        if mask.shape != (height, width):
            raise MaskError(f"the mask is {mask.shape[1]}x{mask.shape[0]} pixels but image {path} is "
                            f"{width}x{height}")
        if not mask.any():
            raise MaskError(f"the mask for image {path} covers no pixel")
        return mask_to_rle(mask)

    @staticmethod
    def _check_proposal(conn, image_id: int, proposal_id: int) -> None:
        row = conn.execute("SELECT image_id, state FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
        if row is None or row[0] != image_id:
            raise NotFoundError(f"no proposal with id {proposal_id} on image {image_id} (the image's proposals "
                                "may have been made again)")
        if row[1] == "accepted":
            raise StoreError(f"proposal {proposal_id} has already been accepted as an instance")

    @staticmethod
    def _check_label(conn, label_id: int) -> None:
        if conn.execute("SELECT 1 FROM labels WHERE id = ?", (label_id,)).fetchone() is None:
            raise NotFoundError(f"no label with id {label_id} in this project")


def _unedited_value(source: InstanceSource, unedited: bool | None) -> int | None:
    """The column's value: 1/0/NULL for SAM's masks as the caller says, 0 for any other source."""
    if source != InstanceSource.MODEL:
        return 0
    return None if unedited is None else int(bool(unedited))


def _checked_rle(rle: dict, path: str, height: int, width: int) -> dict:
    """A compressed RLE of an image of height x width with a pixel set, its counts as str; MaskError otherwise."""
    counts = rle.get("counts")
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if not isinstance(counts, str):
        raise MaskError("an RLE mask must have compressed counts (str or bytes)")
    if list(rle.get("size", ())) != [height, width]:
        raise MaskError(f"the RLE mask is of size {rle.get('size')} but image {path} is {width}x{height}")
    checked = {"size": [height, width], "counts": counts}
    if not rle_area(checked):
        raise MaskError(f"the mask for image {path} covers no pixel")
    return checked
