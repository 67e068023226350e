"""Parallel efficiency from recorded start/end times: pure."""

from __future__ import annotations

from collections.abc import Sequence


def parallel_efficiency(intervals: Sequence[tuple[float, float]], *, cap: int) -> float | None:
    """Busy worker-seconds over what ``min(cap, n)`` slots could have done in the same span.

    1.0 means no slot sat idle between the first start and the last end; None when there is
    nothing to measure.
    """
    if not intervals or cap < 1:
        return None
    span = max(end for _, end in intervals) - min(start for start, _ in intervals)
    if span <= 0:
        return None
    busy = sum(max(0.0, end - start) for start, end in intervals)
    return min(1.0, busy / (min(cap, len(intervals)) * span))


def peak_concurrency(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                   key=lambda edge: (edge[0], edge[1]))
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak
