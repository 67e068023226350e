"""Coordinator leases: a running coordinator holds an exclusive lock on its own lease file.

The kernel drops the lock when the process dies (even by SIGKILL), so "is the owner of this
claim still alive" is one non-blocking lock attempt, with no pid-reuse guesswork.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

OWNER_ENV = "HOOKSWARM_SWARM_OWNER"


class Lease:
    """Held for the life of one coordinator; ``owner`` names it in claims and in workers' env."""

    def __init__(self, root: Path, owner: str, fd: int) -> None:
        self.root = root
        self.owner = owner
        self._fd = fd

    @classmethod
    def acquire(cls, root: Path) -> Lease:
        """Start holding a new lease.

        The file is locked under a hidden name and then renamed into place, so a lease file
        that recovery can see is locked by its live owner or was left by a dead one.
        """
        owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        hidden = _path(root, owner).with_name(f".{owner}.tmp")
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(hidden, _path(root, owner))
        return cls(root, owner, fd)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            _path(self.root, self.owner).unlink()
        os.close(self._fd)


def alive(root: Path, owner: str) -> bool:
    """Whether the coordinator ``owner`` still holds its lease; a dead one's file is removed."""
    if not owner:
        return False
    try:
        fd = os.open(_path(root, owner), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        _path(root, owner).unlink()
    return False


def dead_owners(root: Path) -> list[str]:
    """Every coordinator whose lease file remains but who no longer holds it (files removed)."""
    owners = sorted(p.name[:-5] for p in (root / "coordinators").glob("*.lock"))
    return [owner for owner in owners if not alive(root, owner)]


def _path(root: Path, owner: str) -> Path:
    return root / "coordinators" / f"{owner}.lock"
