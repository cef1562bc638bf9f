"""The current image's pending proposals on the canvas: outlines (stale ones dimmer), the score of the one under the
cursor, and the decisions on it (accept, reject, make it the draft), which the session makes and records."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.annotate import AnnotationSession
from app.annotate.proposal_shapes import ProposalShapes
from app.store import Proposal
from app.ui.canvas_view import CanvasView


def describe(proposal: Proposal) -> str:
    """The hover text of a proposal: its scores, and whether it is stale."""
    text = f"Proposal: predicted IoU {proposal.predicted_iou:.2f}, stability {proposal.stability:.2f}"
    return text + (" (stale: another adapter version made it; propose again to redo it)" if proposal.stale else "")


class ProposalView(QObject):
    """Draws the session's pending proposals on `view` once the image's pixels are shown (`show`). Emits
    `hover_text(text)` when the proposal under the cursor changes ("" for none) and `note(text)` to explain a key
    that found nothing to act on."""

    hover_text = Signal(str)
    note = Signal(str)

    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        self.view = view
        self.shapes = ProposalShapes()
        self.pending: list[Proposal] = []
        self.hovered: Proposal | None = None
        self._session: AnnotationSession | None = None
        self._shown: int | None = None
        self._left_out: int | None = None   # the draft's proposal, not drawn
        view.hovered.connect(lambda _pixel: self._update_hover())

    def bind(self, session: AnnotationSession | None) -> None:
        """Show this session's proposals (None: none)."""
        self._session, self._shown, self.pending = session, None, []
        self.shapes.clear()
        if session is not None:
            session.image_opened.connect(lambda _image: self.show(None))
            session.proposals_changed.connect(self.refresh)
            session.draft_changed.connect(self._draft_changed)

    def show(self, image_id: int | None) -> None:
        """The canvas shows this image's pixels now (None: none yet): draw its proposals."""
        self._shown = image_id
        self.refresh()

    def add_outlines(self, outlines: dict) -> None:
        """Outlines computed off the GUI thread, by proposal id (`proposal_shapes.outlines_of`)."""
        self.shapes.add_outlines(outlines)

    def refresh(self) -> None:
        """Read the current image's pending proposals again and draw them."""
        session = self._session
        shown = session is not None and session.image is not None and session.image.id == self._shown
        self.pending = session.proposals() if shown else []
        self.shapes.keep(self.pending)
        self._draw()

    def under_cursor(self) -> Proposal | None:
        """The smallest pending proposal holding the image pixel under the cursor (the draft's own left out)."""
        pixel = self.view.hover
        return None if pixel is None else self.shapes.at(self._drawn(), *pixel)

    def accept(self) -> None:
        """Accept the proposal under the cursor as an instance with the current label."""
        self._act(lambda session, p: session.accept_proposal(p.id), "accept")

    def reject(self) -> None:
        """Turn down the proposal under the cursor."""
        self._act(lambda session, p: session.reject_proposal(p.id), "reject")

    def edit(self) -> None:
        """Make the proposal under the cursor the draft, to correct it with clicks and the brush; Enter accepts."""
        self._act(lambda session, p: session.edit_proposal(p.id), "edit")

    def _act(self, change, doing: str) -> None:
        proposal = self.under_cursor()
        if self._session is None or self._shown is None:
            return
        if proposal is None:
            self.note.emit(f"Nothing to {doing}: point the mouse inside a proposal first")
            return
        change(self._session, proposal)

    def _linked(self) -> int | None:
        """The id of the proposal the draft is made from (None: none)."""
        draft = self._session.draft if self._session is not None else None
        return draft.proposal if draft is not None else None

    def _drawn(self) -> list[Proposal]:
        """The pending proposals drawn: all but the one the draft is made from."""
        linked = self._linked()
        return [p for p in self.pending if p.id != linked]

    def _draft_changed(self) -> None:
        if self._linked() != self._left_out:
            self._draw()

    def _draw(self) -> None:
        self._left_out = self._linked()
        current, stale = [], []
        for p in self._drawn():
            (stale if p.stale else current).append(self.shapes.outline(p))
        self.view.layers.set_proposals(current, stale)
        self._update_hover(force=True)

    def _update_hover(self, force: bool = False) -> None:
        found = self.under_cursor()
        if not force and (found.id if found else None) == (self.hovered.id if self.hovered else None):
            return
        self.hovered = found
        self.view.layers.set_hovered_proposal(self.shapes.outline(found) if found is not None else None)
        text = describe(found) if found is not None else ""
        self.view.viewport().setToolTip(text)   # shown when the mouse rests there
        self.hover_text.emit(text)
