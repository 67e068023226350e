"""The heartbeat policy: when silence warns and when it kills."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.heartbeat import HeartbeatPolicy, Pulse, pulse


@pytest.mark.parametrize(("silence", "state"), [
    (0.0, Pulse.OK), (44.9, Pulse.OK), (45.0, Pulse.WARN), (89.9, Pulse.WARN),
    (90.0, Pulse.KILL), (1e6, Pulse.KILL),
])
def test_heartbeat_defaults_warn_at_45_and_kill_at_90(silence: float, state: Pulse) -> None:
    assert pulse(HeartbeatPolicy(), silence) is state


def test_heartbeat_kill_below_warn_kills_without_warning() -> None:
    assert pulse(HeartbeatPolicy(warn=5, kill=1), 2) is Pulse.KILL
