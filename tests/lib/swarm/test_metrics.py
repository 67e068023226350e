"""Parallel efficiency and peak concurrency from task intervals."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.metrics import parallel_efficiency, peak_concurrency


@pytest.mark.parametrize(("intervals", "cap", "expected"), [
    ([], 5, None),
    ([(0.0, 1.0)] * 3, 5, 1.0),
    ([(0.0, 1.0)] * 5 + [(1.0, 2.0)] * 5, 5, 1.0),
    ([(0.0, 1.0), (0.0, 1.0), (1.0, 2.0)], 2, 0.75),
    ([(0.0, 1.0), (0.5, 1.5)], 2, 2 / 3),
    # three tasks started within 25 ms under a cap of 5: only the 25 ms are lost
    ([(0.0, 0.5), (0.025, 1.025), (0.01, 0.11)], 5, 1.0 / 1.025),
])
def test_parallel_efficiency(intervals: list[tuple[float, float]], cap: int,
                             expected: float | None) -> None:
    assert parallel_efficiency(intervals, cap=cap) == (
        expected if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(("intervals", "peak"), [
    ([], 0), ([(0, 1), (1, 2)], 1), ([(0, 2), (1, 3), (1.5, 4)], 3), ([(0, 1)] * 4, 4),
])
def test_peak_concurrency(intervals: list[tuple[float, float]], peak: int) -> None:
    assert peak_concurrency(intervals) == peak
