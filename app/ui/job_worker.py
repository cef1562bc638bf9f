"""The part every cancellable background job shares: a cancel flag any thread may set, and one way to report a
job that failed or was cancelled (`failed(message, cancelled)`), so a worker only says what its job does."""
from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal


class JobWorker(QObject):
    """Base of the workers that run one job at a time in their own QThread. `cancel()` may be called from any
    thread; the job sees it through `cancelled` and stops at its next check."""

    failed = Signal(str, bool)      # message, True when the user cancelled

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the running job to stop at its next check."""
        self._cancel.set()

    def cancelled(self) -> bool:
        """True once `cancel()` was called for the job in progress."""
        return self._cancel.is_set()

    def attempt(self, job: Callable[[], object], cancelled: type[BaseException],
                expected: tuple[type[BaseException], ...]) -> tuple[bool, object]:
        """Run `job` with the cancel flag cleared; (True, its result), or (False, None) after `failed` was emitted:
        `cancelled` is the user's cancel, `expected` errors are told as they read, anything else with its type
        (whatever breaks, the annotator is told and the app goes on)."""
        self._cancel.clear()
        try:
            return True, job()
        except cancelled as exc:
            self.failed.emit(str(exc), True)
        except expected as exc:
            self.failed.emit(str(exc), False)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            self.failed.emit(f"{type(exc).__name__}: {exc}", False)
        return False, None
