"""Admission: which queued tasks may start now. Pure: no I/O, no clock.

A task starts when a global slot and a slot of its backend are free, its backend is usable,
and none of the globs it owns can match a path owned by a running (or just admitted) task.
Queue order is kept, but a task that must wait does not hold back the ones behind it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookswarm.lib.swarm.ownership import overlapping

if TYPE_CHECKING:
    from collections.abc import Container, Mapping, Sequence


@dataclass(frozen=True, slots=True)
class Slot:
    """A queued or running task, as admission sees it (``owns`` are absolute globs)."""

    id: str
    backend: str
    health_key: str
    owns: tuple[str, ...] = ()


def admit(queued: Sequence[Slot], running: Sequence[Slot], *, max_parallel: int,
          caps: Mapping[str, int], usable: Container[str]) -> list[str]:
    """The ids from ``queued`` to start now, in queue order."""
    free = max_parallel - len(running)
    per_backend = Counter(slot.backend for slot in running)
    owned = [slot.owns for slot in running if slot.owns]
    chosen: list[str] = []
    for slot in queued:
        if free <= 0:
            break
        if slot.health_key not in usable:
            continue
        if per_backend[slot.backend] >= caps.get(slot.backend, max_parallel):
            continue
        if slot.owns and any(overlapping(slot.owns, other) for other in owned):
            continue
        chosen.append(slot.id)
        free -= 1
        per_backend[slot.backend] += 1
        if slot.owns:
            owned.append(slot.owns)
    return chosen
