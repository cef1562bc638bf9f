"""The automatic proposals of a project: masks a model proposed for an image, waiting to be accepted or rejected.

A proposal is accepted by adding the instance it becomes (`InstanceTable.add(..., proposal_id=)`); deleting that
instance makes it rejected (schema step 4's triggers). `stale` is computed, never stored: a pending proposal made
by another adapter version than the active one. Making an image's proposals again (`replace_pending`) is the redo.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from app.store.database import Database, utc_now
from app.store.errors import MaskError, NotFoundError, StoreError
from app.store.masks import rle_area, rle_bbox
from app.store.records import Proposal, ProposalState

# `a` is the active adapter version (no row when the base model is in use); ids start at 1, so 0 stands for none.
_STALE = "(p.state = 'pending' AND coalesce(p.adapter_version_id, 0) <> coalesce(a.id, 0))"
_COLUMNS = ("p.id, p.image_id, p.rle, p.area, p.bbox_x, p.bbox_y, p.bbox_w, p.bbox_h, p.predicted_iou, "
            f"p.stability, p.point_x, p.point_y, p.model, p.adapter_version_id, p.state, p.created_at, i.id, "
            f"m.height, m.width, {_STALE}")
_FROM = ("FROM proposals p JOIN images m ON m.id = p.image_id LEFT JOIN instances i ON i.proposal_id = p.id "
         "LEFT JOIN (SELECT id FROM adapter_versions WHERE active = 1) a ON 1 = 1")
_ORDER = "ORDER BY p.predicted_iou DESC, p.id"


class ProposalScores(NamedTuple):
    """A pending proposal's scores and area, without its mask."""

    predicted_iou: float
    stability: float
    area: int


class ProposedLike(Protocol):
    """What `replace_pending` takes of each proposal (app.autoseg.ProposedMask has it): a compressed RLE
    {'size': [h, w], 'counts': str} at the image's size, the two scores and the prompt point (x, y)."""

    rle: dict
    predicted_iou: float
    stability: float
    point: tuple[float, float]


def _proposal(row: tuple) -> Proposal:
    rle = {"size": [row[17], row[18]], "counts": row[2]}
    return Proposal(row[0], row[1], rle, row[3], (row[4], row[5], row[6], row[7]), row[8], row[9],
                    (row[10], row[11]), row[12], row[13], ProposalState(row[14]), row[15], row[16], bool(row[19]))


class ProposalTable:
    """`project.proposals`: per image, the proposals of the last automatic run plus those accepted or rejected."""

    def __init__(self, db: Database):
        self._db = db

    def replace_pending(self, image_id: int, proposals: Iterable[ProposedLike], model: str,
                        adapter_version_id: int | None = None) -> list[Proposal]:
        """Drop the image's pending proposals and store these, made by `model` with that adapter version (None:
        the base model), in one transaction; accepted and rejected ones stay. Returns the image's pending ones.

        MaskError (nothing stored) when a mask is not of the image's size or covers no pixel.
        """
        with self._db.transaction() as conn:
            row = conn.execute("SELECT path, height, width FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no image with id {image_id} in this project")
            if adapter_version_id is not None and conn.execute(
                    "SELECT 1 FROM adapter_versions WHERE id = ?", (adapter_version_id,)).fetchone() is None:
                raise NotFoundError(f"no adapter version with id {adapter_version_id} in this project")
            rows = [self._row(image_id, row, p, model, adapter_version_id) for p in proposals]
            conn.execute("DELETE FROM proposals WHERE image_id = ? AND state = 'pending'", (image_id,))
            self._db.image_changed(conn, image_id)
            conn.executemany(
                "INSERT INTO proposals (image_id, rle, area, bbox_x, bbox_y, bbox_w, bbox_h, predicted_iou, "
                "stability, point_x, point_y, model, adapter_version_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return self.for_image(image_id, ProposalState.PENDING)

    def get(self, proposal_id: int) -> Proposal:
        """The proposal with this id; NotFoundError if there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} {_FROM} WHERE p.id = ?", (proposal_id,))
        if row is None:
            raise NotFoundError(f"no proposal with id {proposal_id} in this project (the image's proposals may "
                                "have been made again)")
        return _proposal(row)

    def for_image(self, image_id: int, state: ProposalState | str | None = None) -> list[Proposal]:
        """The proposals of one image (only those in `state` when given), best predicted IoU first."""
        if state is None:
            rows = self._db.rows(f"SELECT {_COLUMNS} {_FROM} WHERE p.image_id = ? {_ORDER}", (image_id,))
        else:
            rows = self._db.rows(f"SELECT {_COLUMNS} {_FROM} WHERE p.image_id = ? AND p.state = ? {_ORDER}",
                                 (image_id, ProposalState(state).value))
        return [_proposal(r) for r in rows]

    def pending_counts(self) -> dict[int, int]:
        """Number of pending proposals of every image (0 included), keyed by image id: for the image list."""
        return dict(self._db.rows("SELECT m.id, count(p.id) FROM images m LEFT JOIN proposals p "
                                  "ON p.image_id = m.id AND p.state = 'pending' GROUP BY m.id"))

    def pending_scores(self) -> dict[int, list[ProposalScores]]:
        """The scores of every pending proposal, by image id (images without one left out), in one query and
        without the masks: what an uncertainty score reads, for the whole image list at once."""
        scores: dict[int, list[ProposalScores]] = {}
        for image_id, iou, stability, area in self._db.rows(
                "SELECT image_id, predicted_iou, stability, area FROM proposals WHERE state = 'pending' "
                "ORDER BY image_id, predicted_iou DESC, id"):
            scores.setdefault(image_id, []).append(ProposalScores(iou, stability, area))
        return scores

    def stale(self, image_id: int | None = None) -> list[Proposal]:
        """The stale proposals (see `Proposal.stale`), of one image or of all, by image then best first."""
        where = f"{_STALE}" + ("" if image_id is None else " AND p.image_id = ?")
        params = () if image_id is None else (image_id,)
        return [_proposal(r) for r in self._db.rows(f"SELECT {_COLUMNS} {_FROM} WHERE {where} "
                                                    f"ORDER BY p.image_id, p.predicted_iou DESC, p.id", params)]

    def set_state(self, proposal_ids: Sequence[int], state: ProposalState | str) -> None:
        """Make these proposals pending or rejected, all in one transaction. A proposal becomes accepted only by
        adding its instance (ValueError), and one that is an instance now keeps its state (StoreError: delete
        the instance instead)."""
        state = ProposalState(state)
        if state is ProposalState.ACCEPTED:
            raise ValueError("a proposal becomes accepted by adding its instance: "
                             "project.instances.add(..., proposal_id=...)")
        with self._db.transaction() as conn:
            for image_id in {self.get(proposal_id).image_id for proposal_id in proposal_ids}:
                self._db.image_changed(conn, image_id)
            for proposal_id in proposal_ids:
                if self.get(proposal_id).instance_id is not None:
                    raise StoreError(f"proposal {proposal_id} is accepted as an instance; delete the instance "
                                     "to reject it")
                conn.execute("UPDATE proposals SET state = ? WHERE id = ?", (state.value, proposal_id))

    @staticmethod
    def _row(image_id: int, image: tuple, proposal: ProposedLike, model: str, adapter_version_id: int | None):
        path, height, width = image
        rle = proposal.rle
        if list(rle["size"]) != [height, width]:
            raise MaskError(f"a proposal's mask is {rle['size'][1]}x{rle['size'][0]} pixels but image {path} is "
                            f"{width}x{height}")
        area = rle_area(rle)
        if area == 0:
            raise MaskError(f"a proposal's mask for image {path} covers no pixel")
        x, y = proposal.point
        counts = rle["counts"].decode("ascii") if isinstance(rle["counts"], bytes) else rle["counts"]
        return (image_id, counts, area, *rle_bbox(rle), float(proposal.predicted_iou),
                float(proposal.stability), float(x), float(y), model, adapter_version_id, utc_now())
