"""The undoable edits of an annotation session: draft edits and instance operations on the store.

Instance operations write to the project at once, and so do their undo and redo. A re-added instance
gets a new id from the store, so commands name instances through an `InstanceRef` that follows it. Commands act
on a `CommandTarget`: the few members of the session (app.annotate.session) that they need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.annotate.draft import Draft
from app.annotate.image_state import ImageState
from app.store import InstanceSource, Project


@dataclass
class InstanceRef:
    """The current store id of an instance that undo and redo may delete and re-add."""

    id: int


class CommandTarget(Protocol):
    """What a command changes and whom it tells: the session's project and its three ways to show an edit."""

    project: Project

    def _show_draft(self, state: ImageState, draft: Draft) -> None:
        """Make `draft` the draft of the image of `state`, and show it if that image is the current one."""

    def _track(self, ref: InstanceRef | None, instance_id: int) -> InstanceRef:
        """The ref that follows the instance now stored as `instance_id` (`ref`, pointed at it, when given)."""

    def _instances_edited(self, state: ImageState) -> None:
        """The instances of the image of `state` changed in the store: update its status and tell the views."""


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
    """The draft stored as a new instance; undo deletes it from the store and brings the draft back."""

    text = "accept instance"

    def __init__(self, session: CommandTarget, state: ImageState, label_id: int, mask: np.ndarray,
                 source: InstanceSource, draft: Draft):
        self._session, self._state, self._draft = session, state, draft
        self._label_id, self._mask, self._source = label_id, mask, source
        self.ref: InstanceRef | None = None

    def redo(self) -> None:
        instance = self._session.project.instances.add(self._state.image.id, self._label_id, self._mask,
                                                       self._source, unedited=self._draft.unedited)
        self.ref = self._session._track(self.ref, instance.id)
        self._session._show_draft(self._state, Draft())
        self._session._instances_edited(self._state)

    def undo(self) -> None:
        self._session.project.instances.delete(self.ref.id)
        self._session._show_draft(self._state, self._draft)
        self._session._instances_edited(self._state)


class DeleteInstance:
    """An instance deleted from the store; undo stores it again (same mask, label, source and unedited mark)."""

    text = "delete instance"

    def __init__(self, session: CommandTarget, state: ImageState, ref: InstanceRef):
        self._session, self._state, self.ref = session, state, ref
        instance = session.project.instances.get(ref.id)
        self._label_id, self._mask, self._source = instance.label_id, instance.mask.copy(), instance.source
        self._unedited = instance.unedited

    def redo(self) -> None:
        self._session.project.instances.delete(self.ref.id)
        self._session._instances_edited(self._state)

    def undo(self) -> None:
        instance = self._session.project.instances.add(self._state.image.id, self._label_id, self._mask,
                                                       self._source, unedited=self._unedited)
        self._session._track(self.ref, instance.id)
        self._session._instances_edited(self._state)


class RelabelInstance:
    """An instance given another label."""

    text = "relabel instance"

    def __init__(self, session: CommandTarget, state: ImageState, ref: InstanceRef, label_id: int):
        self._session, self._state, self.ref = session, state, ref
        self._old = session.project.instances.get(ref.id).label_id
        self._new = label_id

    def redo(self) -> None:
        self._session.project.instances.update(self.ref.id, label_id=self._new)
        self._session._instances_edited(self._state)

    def undo(self) -> None:
        self._session.project.instances.update(self.ref.id, label_id=self._old)
        self._session._instances_edited(self._state)
