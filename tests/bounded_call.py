"""A call that must end in bounded time, run so that a test fails instead of hanging when it does not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def finished_within(seconds: float, call: Callable[[], T], what: str) -> T | BaseException:
    """Run ``call`` in a daemon thread and wait ``seconds`` for it; the test fails (saying ``what`` is still
    going) when it has not ended by then. Gives its result, or what it raised."""
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the test's thread
            outcome.append(error)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"{what} after {seconds:g} s"
    assert time.monotonic() - started < seconds
    assert len(outcome) == 1
    return outcome[0]
