"""Progressive timeouts: pure arithmetic, no clock.

A worker gets an initial budget by complexity. Each time it reaches its deadline it gets
``extend`` more seconds if it printed anything since the previous deadline, never beyond ``cap``;
``extend = 0`` turns extensions off.
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
    if policy.extend <= 0 or not progressed or deadline >= policy.cap:
        return None
    return min(deadline + policy.extend, policy.cap)


def why_stopped(policy: TimeoutPolicy, *, deadline: float) -> str:
    """Why a worker at ``deadline`` gets no extension (when :func:`next_deadline` is None)."""
    if policy.extend <= 0:
        return "extensions are off (extend = 0)"
    if deadline >= policy.cap:
        return "hit the cap"
    return "printed nothing since the last deadline"
