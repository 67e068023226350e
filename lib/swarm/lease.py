"""Coordinator leases: a running coordinator holds an exclusive lock on its own lease file.

The kernel drops the lock when the process dies (even by SIGKILL), so "is the owner of this
claim still alive" is one non-blocking lock attempt, with no pid-reuse guesswork. The file
holds the ids of the tasks the coordinator waits for (one a line), which ``clean`` keeps.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import TYPE_CHECKING

from hookswarm.lib.flock import lock_within

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

OWNER_ENV = "HOOKSWARM_SWARM_OWNER"


class Lease:
    """Held for the life of one coordinator; ``owner`` names it in claims and in workers' env."""

    def __init__(self, root: Path, owner: str, fd: int) -> None:
        self.root = root
        self.owner = owner
        self._fd = fd

    @classmethod
    def acquire(cls, root: Path, *, holds: Sequence[str] = ()) -> Lease:
        """Start holding a new lease for a coordinator that waits for the tasks ``holds``.

        The file is locked and written under a hidden name and then renamed into place, so a
        lease file that others can see is complete, and locked by its live owner or was left
        by a dead one.
        """
        owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        hidden = _path(root, owner).with_name(f".{owner}.tmp")
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT, 0o644)
        lock_within(fd, -1)
        if holds:
            os.write(fd, "\n".join(holds).encode())
        os.rename(hidden, _path(root, owner))
        return cls(root, owner, fd)

    def release(self, *, keep_file: bool = False) -> None:
        """Stop holding the lease; with ``keep_file``, its file stays as a dead lease's, so
        that live coordinators recover the claims left behind (after a halt) within seconds."""
        if not keep_file:
            with contextlib.suppress(OSError):  # a file left behind is seen as a dead lease
                _path(self.root, self.owner).unlink()
        os.close(self._fd)


def held(root: Path, owner: str) -> bool:
    """Whether the coordinator ``owner`` still holds its lease; a dead one's file is kept."""
    if not owner:
        return False
    try:
        fd = os.open(_path(root, owner), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        return not lock_within(fd, 0)  # one try: a live owner holds it
    finally:
        os.close(fd)


def alive(root: Path, owner: str) -> bool:
    """Like :func:`held`, but a dead owner's file is removed (recovery is handling it)."""
    if held(root, owner):
        return True
    with contextlib.suppress(FileNotFoundError):
        _path(root, owner).unlink()
    return False


def owners(root: Path) -> list[str]:
    """Every coordinator with a lease file, live or dead."""
    return sorted(p.name[:-5] for p in (root / "coordinators").glob("*.lock"))


def dead_owners(root: Path) -> list[str]:
    """Every coordinator whose lease file remains but who no longer holds it (files removed)."""
    return [owner for owner in owners(root) if not alive(root, owner)]


def someone_died(root: Path) -> bool:
    """Whether a coordinator died and left its lease file (and maybe claims) behind."""
    return any(not held(root, owner) for owner in owners(root))


def live_holds(root: Path) -> set[str]:
    """The ids of the tasks that live coordinators wait for."""
    ids: set[str] = set()
    for owner in owners(root):
        if held(root, owner):
            with contextlib.suppress(FileNotFoundError):
                ids.update(_path(root, owner).read_text().split())
    return ids


def _path(root: Path, owner: str) -> Path:
    return root / "coordinators" / f"{owner}.lock"
