"""Waiting on processes and files without fixed sleeps: whether a pid is gone, poll until true."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


# For hook scripts: whether the process whose pid a file holds has ended and been reaped (a
# missing or half-written file means it has not started yet). Needs ``import os``.
ENDED_SOURCE = """
def ended(pid_file):
    try:
        pid = int(open(pid_file).read())
    except (OSError, ValueError):
        return False
    return not os.path.exists(f"/proc/{pid}")
"""
