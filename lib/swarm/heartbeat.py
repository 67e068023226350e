"""Heartbeats: any output counts as a sign of life. The verdict is a pure function of silence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Pulse(Enum):
    """What a stretch of silence means for a worker."""

    OK = "ok"
    WARN = "warn"
    KILL = "kill"


@dataclass(frozen=True, slots=True)
class HeartbeatPolicy:
    """Seconds of silence before a warning and before the worker is killed."""

    warn: float = 45.0
    kill: float = 90.0


def pulse(policy: HeartbeatPolicy, silence: float) -> Pulse:
    """The state of a worker that has printed nothing for ``silence`` seconds."""
    if silence >= policy.kill:
        return Pulse.KILL
    if silence >= policy.warn:
        return Pulse.WARN
    return Pulse.OK
