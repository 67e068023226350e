"""The coordinator's errors, all under :class:`hookswarm.lib.errors.HookswarmError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookswarm.lib.errors import HookswarmError

if TYPE_CHECKING:
    from pydantic import ValidationError


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


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """The dotted key and the reason of a validation error's first problem."""
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    return key, "unknown key" if first["type"] == "extra_forbidden" else first["msg"]


class StoreError(SwarmError):
    """The ``.swarm/`` store refused an operation (a duplicate id, an unreadable entry)."""
