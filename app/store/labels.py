"""The labels of a project: add, rename, recolour, reorder, delete."""
from __future__ import annotations

import re

from app.store.database import Database
from app.store.errors import LabelInUseError, NotFoundError, StoreError
from app.store.records import Label

# Colours given to new labels in turn when none is asked for (Tableau 10).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_COLUMNS = "id, name, colour, position"


def is_colour(value) -> bool:
    """True for a '#rrggbb' string."""
    return isinstance(value, str) and _COLOUR.match(value) is not None


def _colour(colour: str) -> str:
    if not is_colour(colour):
        raise ValueError(f"a label colour is '#rrggbb', not {colour!r}")
    return colour.lower()


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a label name must be a non-empty string, not {name!r}")
    return name.strip()


class LabelTable:
    """`project.labels`: the label list, in the order the annotator chose."""

    def __init__(self, db: Database):
        self._db = db

    def list(self) -> list[Label]:
        """Every label, in label-list order."""
        return [Label(*r) for r in self._db.rows(f"SELECT {_COLUMNS} FROM labels ORDER BY position, id")]

    def get(self, label_id: int) -> Label:
        """The label with this id; NotFoundError if there is none."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM labels WHERE id = ?", (label_id,))
        if row is None:
            raise NotFoundError(f"no label with id {label_id} in this project")
        return Label(*row)

    def find(self, name: str) -> Label | None:
        """The label with this exact name, or None."""
        row = self._db.row(f"SELECT {_COLUMNS} FROM labels WHERE name = ?", (name,))
        return None if row is None else Label(*row)

    def add(self, name: str, colour: str | None = None) -> Label:
        """Append a label to the list; without a colour it gets the next one of PALETTE."""
        name = _name(name)
        with self._db.transaction() as conn:
            self._refuse_taken(conn, name)
            count, end = conn.execute("SELECT count(*), coalesce(max(position) + 1, 0) FROM labels").fetchone()
            colour = _colour(colour) if colour is not None else PALETTE[count % len(PALETTE)]
            label_id = conn.insert("INSERT INTO labels (name, colour, position) VALUES (?, ?, ?)",
                                   (name, colour, end))
        return self.get(label_id)

    def rename(self, label_id: int, name: str) -> Label:
        """Give a label a new name (unique among the labels)."""
        name = _name(name)
        with self._db.transaction() as conn:
            self._refuse_taken(conn, name, label_id)
            self._update(conn, label_id, "name", name)
        return self.get(label_id)

    def recolour(self, label_id: int, colour: str) -> Label:
        """Give a label a new '#rrggbb' colour."""
        with self._db.transaction() as conn:
            self._update(conn, label_id, "colour", _colour(colour))
        return self.get(label_id)

    def reorder(self, label_ids: list[int]) -> list[Label]:
        """Put the labels in this order; `label_ids` must name every label once."""
        with self._db.transaction() as conn:
            existing = {r[0] for r in conn.execute("SELECT id FROM labels")}
            if sorted(label_ids) != sorted(existing):
                raise ValueError(f"reorder needs every label id exactly once: got {label_ids}, "
                                 f"the labels are {sorted(existing)}")
            conn.executemany("UPDATE labels SET position = ? WHERE id = ?",
                             [(position, label_id) for position, label_id in enumerate(label_ids)])
        return self.list()

    def delete(self, label_id: int, *, move_instances_to: int | None = None,
               delete_instances: bool = False) -> None:
        """Delete a label. Its instances are never dropped silently: if it has any, say what becomes of them,
        either `move_instances_to=<another label id>` or `delete_instances=True`; otherwise LabelInUseError.
        """
        if move_instances_to is not None and delete_instances:
            raise ValueError("give either move_instances_to or delete_instances, not both")
        with self._db.transaction() as conn:
            label = self.get(label_id)
            count = conn.execute("SELECT count(*) FROM instances WHERE label_id = ?", (label_id,)).fetchone()[0]
            if move_instances_to is not None:
                if move_instances_to == label_id:
                    raise ValueError("cannot move a label's instances to the label being deleted")
                self.get(move_instances_to)
                conn.execute("UPDATE instances SET label_id = ? WHERE label_id = ?", (move_instances_to, label_id))
            elif delete_instances:
                conn.execute("DELETE FROM instances WHERE label_id = ?", (label_id,))
            elif count:
                raise LabelInUseError(f"label {label.name!r} still has {count} instance(s); move them to another "
                                      "label or delete them with it")
            conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))
            rest = [r[0] for r in conn.execute("SELECT id FROM labels ORDER BY position, id")]
            conn.executemany("UPDATE labels SET position = ? WHERE id = ?", list(zip(range(len(rest)), rest)))

    @staticmethod
    def _refuse_taken(conn, name: str, label_id: int | None = None) -> None:
        row = conn.execute("SELECT id FROM labels WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] != label_id:
            raise StoreError(f"there is already a label named {name!r}")

    @staticmethod
    def _update(conn, label_id: int, column: str, value) -> None:
        if conn.execute(f"UPDATE labels SET {column} = ? WHERE id = ?", (value, label_id)).rowcount == 0:
            raise NotFoundError(f"no label with id {label_id} in this project")
