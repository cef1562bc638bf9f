"""Plain observer events for the annotation core: views subscribe, the core emits; no Qt here."""
from __future__ import annotations

from collections.abc import Callable


class Event:
    """A list of callbacks called in order with the emitted arguments."""

    def __init__(self) -> None:
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> None:
        """Call `callback(*args)` on every `emit(*args)`."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable) -> None:
        """Stop calling `callback`; ValueError if it was not connected."""
        self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        """Call every connected callback with `args`."""
        for callback in list(self._callbacks):
            callback(*args)
