"""Undo/redo: a stack of commands, each able to undo and redo itself."""
from __future__ import annotations

from typing import Protocol


class Command(Protocol):
    """One undoable edit. It has been done when it is pushed; `undo` and `redo` alternate from then on."""

    text: str

    def undo(self) -> None: ...

    def redo(self) -> None: ...


class History:
    """Commands done (to undo) and undone (to redo). A new command drops the undone ones.

    A command that raises while undoing or redoing stays where it was, so a failed store write can be retried.
    `limit` bounds how many commands are kept to undo; the oldest are forgotten.
    """

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []

    def push(self, command: Command) -> None:
        """Record a command that has just been done."""
        self._done.append(command)
        del self._done[:-self.limit]
        self._undone.clear()

    def undo(self) -> Command | None:
        """Undo the last command done and return it; None when there is nothing to undo."""
        if not self._done:
            return None
        command = self._done[-1]
        command.undo()
        self._undone.append(self._done.pop())
        return command

    def redo(self) -> Command | None:
        """Redo the last command undone and return it; None when there is nothing to redo."""
        if not self._undone:
            return None
        command = self._undone[-1]
        command.redo()
        self._done.append(self._undone.pop())
        return command

    def forget(self, undoing: bool) -> Command | None:
        """Drop the command that undo (`undoing`) or redo would step next, which can never be made any more (another
        annotator changed what it acts on); None when there is none."""
        stack = self._done if undoing else self._undone
        return stack.pop() if stack else None

    @property
    def undo_text(self) -> str | None:
        """What undo would undo, or None."""
        return self._done[-1].text if self._done else None

    @property
    def redo_text(self) -> str | None:
        """What redo would redo, or None."""
        return self._undone[-1].text if self._undone else None
