"""Parallel efficiency from recorded start/end times: pure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def parallel_efficiency(intervals: Sequence[tuple[float, float]], *, cap: int) -> float | None:
    """Ideal wall time over measured wall time (the README's and ``bench_swarm.py``'s figure).

    Measured: first start to last end. Ideal: the shortest any schedule under the cap could
    take, bounded below by the longest task and by the busy worker-seconds spread over
    ``min(cap, n)`` slots. 1.0 means nothing waited that did not have to; None when there is
    nothing to measure.
    """
    if not intervals or cap < 1:
        return None
    span = max(end for _, end in intervals) - min(start for start, _ in intervals)
    if span <= 0:
        return None
    lengths = [max(0.0, end - start) for start, end in intervals]
    ideal = max(max(lengths), sum(lengths) / min(cap, len(intervals)))
    return min(1.0, ideal / span)


def peak_concurrency(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                   key=lambda edge: (edge[0], edge[1]))
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak
