"""Timeout arithmetic: initial deadlines by complexity, extensions, why a worker stops."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.timeouts import (
    TimeoutPolicy,
    initial_deadline,
    next_deadline,
    why_stopped,
)

DEFAULT = TimeoutPolicy()


@pytest.mark.parametrize(("policy", "complexity", "expected"), [
    (DEFAULT, 1, 60.0),
    (DEFAULT, 2, 120.0),
    (DEFAULT, 3, 180.0),
    (DEFAULT, 0, 60.0),
    (DEFAULT, 9, 180.0),
    (TimeoutPolicy(initial=(10.0, 300.0, 400.0), cap=240.0), 2, 240.0),
    (TimeoutPolicy(initial=(1.0, 2.0, 3.0), extend=0.5, cap=2.5), 3, 2.5),
])
def test_initial_deadline_by_complexity(policy: TimeoutPolicy, complexity: int,
                                        expected: float) -> None:
    assert initial_deadline(policy, complexity) == expected


@pytest.mark.parametrize(("deadline", "progressed", "expected"), [
    (60.0, True, 120.0),
    (60.0, False, None),
    (180.0, True, 240.0),
    (200.0, True, 240.0),
    (240.0, True, None),
    (250.0, True, None),
    (120.0, False, None),
])
def test_next_deadline_extends_while_progressing_up_to_the_cap(
        deadline: float, progressed: bool, expected: float | None) -> None:
    assert next_deadline(DEFAULT, deadline=deadline, progressed=progressed) == expected


NO_EXTEND = TimeoutPolicy(extend=0.0)


@pytest.mark.parametrize(("policy", "deadline", "progressed", "expected", "why"), [
    (NO_EXTEND, 60.0, True, None, "extensions are off (extend = 0)"),
    (NO_EXTEND, 60.0, False, None, "extensions are off (extend = 0)"),
    (NO_EXTEND, 240.0, True, None, "extensions are off (extend = 0)"),
    (DEFAULT, 60.0, False, None, "printed nothing since the last deadline"),
    (DEFAULT, 240.0, True, None, "hit the cap"),
    (DEFAULT, 240.0, False, None, "hit the cap"),
    (TimeoutPolicy(extend=0.5, cap=2.0), 1.0, True, 1.5, ""),
])
def test_why_a_worker_gets_no_more_time(policy: TimeoutPolicy, deadline: float,
                                        progressed: bool, expected: float | None,
                                        why: str) -> None:
    assert next_deadline(policy, deadline=deadline, progressed=progressed) == expected
    if expected is None:
        assert why_stopped(policy, deadline=deadline) == why


def test_a_progressing_worker_walks_60_120_180_240_then_stops() -> None:
    walk = [initial_deadline(DEFAULT, 1)]
    while (nxt := next_deadline(DEFAULT, deadline=walk[-1], progressed=True)) is not None:
        walk.append(nxt)
    assert walk == [60.0, 120.0, 180.0, 240.0]
