"""Progressive timeouts: pure arithmetic, no clock.

A worker gets an initial budget by complexity. Each time it reaches its deadline it gets
``extend`` more seconds if it printed anything since the previous deadline, never beyond ``cap``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_INITIAL = (60.0, 120.0, 180.0)


@dataclass(frozen=True, slots=True)
class TimeoutPolicy:
    """Seconds: initial budget per complexity 1..3, extension step and hard cap."""

    initial: tuple[float, float, float] = DEFAULT_INITIAL
    extend: float = 60.0
    cap: float = 240.0


def initial_deadline(policy: TimeoutPolicy, complexity: int) -> float:
    """The first deadline, in seconds after the start, for a task of ``complexity`` (1..3)."""
    level = min(max(complexity, 1), len(policy.initial))
    return min(policy.initial[level - 1], policy.cap)


def next_deadline(policy: TimeoutPolicy, *, deadline: float, progressed: bool) -> float | None:
    """At ``deadline``: the extended deadline, or None when the worker must stop now."""
    if not progressed or deadline >= policy.cap:
        return None
    return min(deadline + policy.extend, policy.cap)
