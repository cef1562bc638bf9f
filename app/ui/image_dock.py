"""The image list: every image of the project with its status, instance count, pending proposals and how uncertain
the model is about it (from those proposals); choosing one opens it. It can be sorted most uncertain first."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QHeaderView, QTreeWidget, QTreeWidgetItem

from app.annotate import AnnotationSession
from app.store import ImageStatus

STATUS_TEXT = {ImageStatus.NEW: "new", ImageStatus.IN_PROGRESS: "in progress", ImageStatus.DONE: "done"}
STATUS_COLOUR = {ImageStatus.NEW: "#9e9e9e", ImageStatus.IN_PROGRESS: "#ff9800", ImageStatus.DONE: "#2e7d32"}
UNREADABLE = "#d32f2f"
CHANGED = "#e65100"
CLAIMED = "#1565c0"


class ImageDock(QDockWidget):
    """Lists the session's images; emits `image_chosen(id)` when the annotator picks one."""

    image_chosen = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__("Images", parent)
        self.setObjectName("images_dock")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Image", "Status", "Instances", "Pending", "Doubt"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keeps a name's prefix and its number
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.headerItem().setToolTip(3, "Pending proposals: Proposals > Propose instances (P) makes them")
        self.tree.headerItem().setToolTip(4, "How uncertain the model is about an image without instances, from its "
                                             "pending proposals (1 - predicted IoU x stability, averaged): "
                                             "Image > Next most uncertain image (U) opens the highest")
        for column in (3, 4):   # shown while an image has pending proposals (Doubt: while sorted by it)
            self.tree.setColumnHidden(column, True)
        for column in (1, 2, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._chosen)
        self.setWidget(self.tree)
        self.unreadable: dict[int, str] = {}
        self.changed: dict[int, str] = {}
        self._session: AnnotationSession | None = None
        self.by_uncertainty = False

    def bind(self, session: AnnotationSession | None) -> None:
        """Show this session's images (None: an empty list)."""
        self._session, self.unreadable, self.changed = session, {}, {}
        if session is not None:
            session.images_changed.connect(self.refresh)
            session.image_opened.connect(lambda _image: self.refresh())
        self.refresh()

    def mark_unreadable(self, image_id: int, message: str) -> None:
        """Flag an image whose file could not be read."""
        self.unreadable[image_id] = message
        self.refresh()

    def mark_changed(self, image_id: int, message: str | None) -> None:
        """Flag an image whose file changed on disk since it was added (None: the change was accepted)."""
        if message is None:
            self.changed.pop(image_id, None)
        else:
            self.changed[image_id] = message
        self.refresh()

    def toggle_uncertainty_order(self) -> None:
        """Image > Sort by uncertainty: list the images without instances most uncertain first (then those without
        proposals, then the others), or back in the project's order."""
        self.by_uncertainty = not self.by_uncertainty
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list from the store."""
        self.tree.blockSignals(True)
        self.tree.clear()
        session = self._session
        if session is not None:
            counts = session.project.instances.counts_per_image()
            pending = session.pending_proposal_counts()
            self.tree.setColumnHidden(3, not any(pending.values()))
            self.tree.setColumnHidden(4, not (self.by_uncertainty and any(pending.values())))   # names keep room
            doubt = {image.id: score for image, score in session.uncertainty_order()}
            claims = session.claims.others()
            current = session.image.id if session.image is not None else None
            images = session.images()
            if self.by_uncertainty:
                rank = {image_id: k for k, image_id in enumerate(doubt)}   # stable: the rest keep their order
                images = sorted(images, key=lambda i: rank.get(i.id, len(rank)))
            for image in images:
                score = doubt.get(image.id)
                item = QTreeWidgetItem([image.path, STATUS_TEXT[image.status], str(counts.get(image.id, 0)),
                                        str(pending.get(image.id) or ""), "" if score is None else f"{score:.2f}"])
                item.setData(0, Qt.ItemDataRole.UserRole, image.id)
                item.setToolTip(0, image.path)
                if score is not None:
                    item.setToolTip(3, f"Doubt {score:.2f}: how uncertain the model is about this image")
                for column in (2, 3, 4):
                    item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setForeground(1, QBrush(QColor(STATUS_COLOUR[image.status])))
                if image.id in self.unreadable:
                    item.setText(1, "unreadable")
                    item.setForeground(1, QBrush(QColor(UNREADABLE)))
                    item.setToolTip(0, self.unreadable[image.id])
                elif image.id in self.changed:
                    item.setText(1, "changed on disk")
                    item.setForeground(1, QBrush(QColor(CHANGED)))
                    item.setToolTip(0, self.changed[image.id])
                elif image.id in claims:
                    claim = claims[image.id]
                    item.setText(1, claim.annotator.split("@")[0])
                    item.setForeground(1, QBrush(QColor(CLAIMED)))
                    item.setToolTip(1, f"{claim.annotator} is working on this image "
                                       f"(since {claim.claimed_at[:16]} UTC)")
                self.tree.addTopLevelItem(item)
                if image.id == current:
                    self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)

    def _chosen(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is not None:
            self.image_chosen.emit(item.data(0, Qt.ItemDataRole.UserRole))
