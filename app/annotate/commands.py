"""The undoable edits of an annotation session: draft edits, instance operations and proposal decisions.

Instance operations write to the project at once, and so do their undo and redo. A re-added instance
gets a new id from the store, so commands name instances through an `InstanceRef` that follows it. Commands act
on a `CommandTarget`: the few members of the session (app.annotate.session) that they need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.annotate.draft import Draft
from app.annotate.image_state import ImageState
from app.store import InstanceSource, Project, Proposal, ProposalState


@dataclass
class InstanceRef:
    """The current store id of an instance that undo and redo may delete and re-add, and the revision of it this
    session last wrote or read: the one its next change names, so another annotator's change in between is refused
    (`InstanceTable.update`), while this session's own commands on the instance follow each other."""

    id: int
    revision: int = 0


class CommandTarget(Protocol):
    """What a command changes and whom it tells: the session's project and its three ways to show an edit."""

    project: Project

    def _show_draft(self, state: ImageState, draft: Draft) -> None:
        """Make `draft` the draft of the image of `state`, and show it if that image is the current one."""

    def _track(self, ref: InstanceRef | None, instance_id: int, revision: int = 0) -> InstanceRef:
        """The ref that follows the instance now stored as `instance_id` at `revision` (`ref`, pointed at it, when
        given)."""

    def _instances_edited(self, state: ImageState) -> None:
        """The instances of the image of `state` changed in the store (and so may have the states of its
        proposals): update its status and tell the views."""

    def _proposals_edited(self, state: ImageState) -> None:
        """Only the states of proposals of the image of `state` changed in the store: tell the views."""


class DraftEdit:
    """A change of the draft: a prompt added, the box set, a stroke painted, a candidate picked, prompts cleared."""

    def __init__(self, session: CommandTarget, state: ImageState, before: Draft, after: Draft, text: str):
        self.text = text
        self._session, self._state, self._before, self._after = session, state, before, after

    def undo(self) -> None:
        self._session._show_draft(self._state, self._before)

    def redo(self) -> None:
        self._session._show_draft(self._state, self._after)


class AcceptInstance:
    """The draft's mask (`rle`: full-resolution compressed COCO RLE) stored as a new instance, linking the proposal
    it started from, if any; undo deletes it from the store, makes that proposal pending again and brings the draft
    back."""

    text = "accept instance"

    def __init__(self, session: CommandTarget, state: ImageState, label_id: int, rle: dict,
                 source: InstanceSource, draft: Draft):
        self._session, self._state, self._draft = session, state, draft
        self._label_id, self._rle, self._source = label_id, rle, source
        self.ref: InstanceRef | None = None

    def redo(self) -> None:
        instance = self._session.project.instances.add(self._state.image.id, self._label_id, self._rle,
                                                       self._source, unedited=self._draft.unedited,
                                                       proposal_id=self._draft.proposal)
        self.ref = self._session._track(self.ref, instance.id, instance.revision)
        self._session._show_draft(self._state, Draft())
        self._session._instances_edited(self._state)

    def undo(self) -> None:
        project = self._session.project
        with project.transaction():
            project.instances.delete(self.ref.id, self.ref.revision)   # not if another annotator changed it since
            if self._draft.proposal is not None:
                project.proposals.set_state([self._draft.proposal], ProposalState.PENDING)
        self._session._show_draft(self._state, self._draft)
        self._session._instances_edited(self._state)


class DeleteInstance:
    """An instance deleted from the store (its proposal, if any, becomes rejected); undo stores it again (same
    mask, kept as its RLE, label, source, unedited mark and proposal, accepted again)."""

    text = "delete instance"

    def __init__(self, session: CommandTarget, state: ImageState, ref: InstanceRef):
        self._session, self._state, self.ref = session, state, ref
        instance = session.project.instances.get(ref.id)
        self._label_id, self._rle, self._source = instance.label_id, instance.rle, instance.source
        self._unedited, self._proposal = instance.unedited, instance.proposal_id
        ref.revision = instance.revision   # what the annotator acts on now

    def redo(self) -> None:
        self._session.project.instances.delete(self.ref.id, self.ref.revision)
        self._session._instances_edited(self._state)

    def undo(self) -> None:
        instance = self._session.project.instances.add(self._state.image.id, self._label_id, self._rle,
                                                       self._source, unedited=self._unedited,
                                                       proposal_id=self._proposal)
        self._session._track(self.ref, instance.id, instance.revision)
        self._session._instances_edited(self._state)


class RelabelInstance:
    """An instance given another label."""

    text = "relabel instance"

    def __init__(self, session: CommandTarget, state: ImageState, ref: InstanceRef, label_id: int):
        self._session, self._state, self.ref = session, state, ref
        instance = session.project.instances.get(ref.id)
        self._old, self._new = instance.label_id, label_id
        ref.revision = instance.revision   # what the annotator acts on now

    def redo(self) -> None:
        self._relabel(self._new)

    def undo(self) -> None:
        self._relabel(self._old)

    def _relabel(self, label_id: int) -> None:
        changed = self._session.project.instances.update(self.ref.id, label_id=label_id, revision=self.ref.revision)
        self.ref.revision = changed.revision
        self._session._instances_edited(self._state)


class AcceptProposals:
    """Pending proposals stored as instances with one label, their masks as they came (one undo step). Undo deletes
    the instances and makes the proposals pending again."""

    def __init__(self, session: CommandTarget, state: ImageState, proposals: list[Proposal], label_id: int):
        self.text = "accept proposal" if len(proposals) == 1 else f"accept {len(proposals)} proposals"
        self._session, self._state, self._label_id = session, state, label_id
        self._proposals = [(p.id, p.rle) for p in proposals]   # RLE, not masks: many proposals stay small
        self.refs: list[InstanceRef | None] = [None] * len(proposals)

    def redo(self) -> None:
        project = self._session.project
        with project.transaction():
            added = [project.instances.add(self._state.image.id, self._label_id, rle,
                                           InstanceSource.MODEL, unedited=True, proposal_id=proposal_id)
                     for proposal_id, rle in self._proposals]
        self.refs = [self._session._track(ref, instance.id, instance.revision)
                     for ref, instance in zip(self.refs, added)]
        self._session._instances_edited(self._state)

    def undo(self) -> None:
        project = self._session.project
        with project.transaction():
            for ref in self.refs:
                project.instances.delete(ref.id, ref.revision)
            project.proposals.set_state([proposal_id for proposal_id, _ in self._proposals], ProposalState.PENDING)
        self._session._instances_edited(self._state)


class RejectProposals:
    """Pending proposals turned down (one undo step); undo makes them pending again."""

    def __init__(self, session: CommandTarget, state: ImageState, proposal_ids: list[int]):
        self.text = "reject proposal" if len(proposal_ids) == 1 else f"reject {len(proposal_ids)} proposals"
        self._session, self._state, self._ids = session, state, list(proposal_ids)

    def redo(self) -> None:
        self._session.project.proposals.set_state(self._ids, ProposalState.REJECTED)
        self._session._proposals_edited(self._state)

    def undo(self) -> None:
        self._session.project.proposals.set_state(self._ids, ProposalState.PENDING)
        self._session._proposals_edited(self._state)
