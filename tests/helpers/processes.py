"""Waiting on processes and files without fixed sleeps: whether a pid is gone, poll until true."""

from __future__ import annotations

import time
from collections.abc import Callable


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in (b"Z", b"X")


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Poll a condition on files or /proc (never a fixed sleep); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)
