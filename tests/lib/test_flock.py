"""The one lock-waiting loop: it gives up at its deadline and takes a lock that was freed."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from hookswarm.lib.flock import lock_within


def test_a_held_lock_is_given_up_on_at_the_deadline_and_taken_once_free(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    waiter = os.open(path, os.O_RDWR)  # another open file: flock sees two owners
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert lock_within(waiter, 0.02) is False
        fcntl.flock(holder, fcntl.LOCK_UN)
        assert lock_within(waiter, 0.02) is True
        assert lock_within(holder, 0) is False  # now the waiter holds it
    finally:
        os.close(holder)
        os.close(waiter)
