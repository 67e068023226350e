"""The coordinator's errors, all under :class:`hookswarm.lib.errors.HookswarmError`."""

from __future__ import annotations

from hookswarm.lib.errors import HookswarmError


class SwarmError(HookswarmError):
    """Something the coordinator cannot do; the message says what to do next."""


class TaskFileError(SwarmError):
    """A task file that cannot be used: names the file, the task and the key."""

    def __init__(self, reason: str, *, path: str = "", task: str = "", key: str = "") -> None:
        self.path = path
        self.task = task
        self.key = key
        self.reason = reason
        where = [part for part in (path, task, key and f"key '{key}'") if part]
        super().__init__(": ".join([*where, reason]))


class StoreError(SwarmError):
    """The ``.swarm/`` store refused an operation (a duplicate id, an unreadable entry)."""
