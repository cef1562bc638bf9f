"""The project's labels and the current one, which newly accepted instances get."""
from __future__ import annotations

from app.annotate.events import Event
from app.store import Label
from app.store.labels import LabelTable


class LabelChoice:
    """Label list operations plus the current label. `changed()` fires after any of them."""

    def __init__(self, table: LabelTable) -> None:
        self._table = table
        self.changed = Event()
        labels = table.list()
        self._current_id: int | None = labels[0].id if labels else None

    def list(self) -> list[Label]:
        """Every label, in label-list order (digit keys 1-9 pick the first nine)."""
        return self._table.list()

    @property
    def current(self) -> Label | None:
        """The label new instances get: the one picked last, else the first; None when there are none."""
        labels = self.list()
        return next((label for label in labels if label.id == self._current_id), labels[0] if labels else None)

    def select(self, label_id: int) -> Label:
        """Make a label current."""
        label = self._table.get(label_id)
        self._current_id = label.id
        self.changed.emit()
        return label

    def select_at(self, index: int) -> Label | None:
        """Make the label at `index` (0-based) of the list current; None when the list is shorter."""
        labels = self.list()
        return self.select(labels[index].id) if 0 <= index < len(labels) else None

    def add(self, name: str, colour: str | None = None) -> Label:
        """Add a label at the end of the list and make it current."""
        label = self._table.add(name, colour)
        return self.select(label.id)

    def rename(self, label_id: int, name: str) -> Label:
        """Rename a label (names are unique)."""
        label = self._table.rename(label_id, name)
        self.changed.emit()
        return label

    def recolour(self, label_id: int, colour: str) -> Label:
        """Give a label another '#rrggbb' colour."""
        label = self._table.recolour(label_id, colour)
        self.changed.emit()
        return label
