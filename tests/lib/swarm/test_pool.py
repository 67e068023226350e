"""Pure tables for endpoint pools: the least-loaded usable endpoint, hopelessness, the breaker."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.pool import EndpointState, hopeless, pause_for, pick
from hookswarm.lib.swarm.wire import Inventory, OllamaWire

OLLAMA = OllamaWire()

UP = Inventory(True, "up", frozenset({"m:latest"}))


def _state(name: str, *, limit: int | None = 2, inflight: int = 0, paused: float = 0.0,
           inventory: Inventory | None = UP, broken: str = "") -> EndpointState:
    return EndpointState(name, limit, inflight=inflight, inventory=inventory,
                         paused_until=paused, broken=broken)


@pytest.mark.parametrize(("states", "chosen"), [
    ([_state("a"), _state("b")], 0),
    ([_state("a", inflight=1), _state("b")], 1),
    ([_state("a", inflight=1, limit=4), _state("b", inflight=1, limit=2)], 0),
    ([_state("a", inflight=2), _state("b", inflight=2)], None),
    ([_state("a", paused=10.0), _state("b", inflight=1)], 1),
    ([_state("a", inventory=Inventory(False, "down")), _state("b", inflight=1)], 1),
    ([_state("a", inventory=Inventory(True, "up", frozenset({"x"}))), _state("b")], 1),
    ([_state("a", limit=None), _state("b", inflight=1)], 1),
    ([_state("a", inventory=None)], None),
    ([_state("a", broken="gave up")], None),
])
def test_pick_the_least_loaded_usable_endpoint(states: list[EndpointState],
                                               chosen: int | None) -> None:
    assert pick(states, "m", 5.0, OLLAMA.has_model) == chosen


def test_hopeless_only_when_every_endpoint_is_broken_or_lacks_the_model() -> None:
    lacking = _state("a", inventory=Inventory(True, "up", frozenset({"x"})))
    assert hopeless([lacking, _state("b", broken="gave up")], "m", OLLAMA.has_model) == (
        "a does not have model 'm' (it has: x); b: gave up")
    assert hopeless([lacking, _state("b", inventory=None)], "m", OLLAMA.has_model) == ""
    assert hopeless([lacking, _state("b", paused=99.0)], "m", OLLAMA.has_model) == ""


@pytest.mark.parametrize(("failures", "pause"), [(1, 2.0), (2, 4.0), (3, 8.0), (9, 30.0)])
def test_the_breaker_pause_doubles_up_to_a_cap(failures: int, pause: float) -> None:
    assert pause_for(failures, 2.0) == pause
