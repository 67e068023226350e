"""Exclusive ``flock`` with a deadline: the one lock-waiting loop of the project.

(A swarm task log is also locked shared by its readers: :func:`lock_shared`.)

The settings lock, the agent guard's state lock and swarm's store lock all hold an exclusive
``flock`` on a descriptor and give up after a timeout. ``flock`` has no timeout of its own, so
waiting is polling with a growing pause; a negative timeout waits in the kernel instead.
"""

from __future__ import annotations

import fcntl
import time

_FIRST_PAUSE = 0.0005


def lock_within(fd: int, timeout: float, *, max_pause: float = 0.005) -> bool:
    """Lock ``fd`` exclusively; False when ``timeout`` seconds pass first (< 0: no limit)."""
    if timeout < 0:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    pause = _FIRST_PAUSE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, max_pause)


def lock_shared(fd: int) -> None:
    """Lock ``fd`` shared, waiting in the kernel while someone holds it exclusively."""
    fcntl.flock(fd, fcntl.LOCK_SH)


def unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
