"""Endpoint pools: each task goes to the least-loaded healthy endpoint that has its model.

``pick`` is pure. :class:`Pool` keeps the live counts: requests in flight per endpoint, what a
probe last said (models present, models loaded), and the circuit breaker, which pauses an
endpoint that failed until a later probe finds it up again (a supervised server: until it is
restarted). A task whose endpoint fails mid-answer is retried on another by its worker.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from hookswarm.lib.swarm.wire import Inventory

PROBE_TTL = 5.0
_MAX_PAUSE = 30.0


class NoEndpoint(Exception):
    """No endpoint of the pool can ever serve the model; the message says why."""


@dataclass(slots=True)
class EndpointState:
    """What the pool knows about one endpoint right now."""

    name: str
    limit: int | None  # None: "auto", not measured yet
    inflight: int = 0
    inventory: Inventory | None = None
    probed_at: float = -math.inf
    paused_until: float = 0.0
    failures: int = 0
    broken: str = ""  # set when the endpoint can never come back (its server gave up)
    warm: set[str] = field(default_factory=set)
    prepared: set[str] = field(default_factory=set)
    why_limit: str = ""
    served: int = 0


def free(state: EndpointState) -> bool:
    return state.limit is not None and state.inflight < state.limit


def pick(states: Sequence[EndpointState], model: str, now: float,
         has_model: Callable[[frozenset[str], str], bool]) -> int | None:
    """The index of the endpoint to use: healthy, has ``model``, a free slot, least loaded.

    Load is in-flight requests over the endpoint's concurrency; ties go to the first listed.
    """
    best: tuple[float, int] | None = None
    for index, state in enumerate(states):
        if not usable(state, model, now, has_model) or not free(state):
            continue
        assert state.limit is not None
        load = (state.inflight / state.limit, index)
        if best is None or load < best:
            best = load
    return None if best is None else best[1]


def usable(state: EndpointState, model: str, now: float,
           has_model: Callable[[frozenset[str], str], bool]) -> bool:
    """Up (per its last probe), not paused, and serving ``model``."""
    inventory = state.inventory
    return (not state.broken and state.paused_until <= now and inventory is not None
            and inventory.ok and has_model(inventory.models, model))


def hopeless(states: Sequence[EndpointState], model: str,
             has_model: Callable[[frozenset[str], str], bool]) -> str:
    """Why no endpoint can ever serve ``model`` (each broken or lacking it), else ""."""
    reasons = []
    for state in states:
        if state.broken:
            reasons.append(f"{state.name}: {state.broken}")
        elif state.inventory is not None and state.inventory.ok and not has_model(
                state.inventory.models, model):
            shown = ", ".join(sorted(state.inventory.models)[:5]) or "none"
            reasons.append(f"{state.name} does not have model '{model}' (it has: {shown})")
        else:
            return ""
    return "; ".join(reasons)


def pause_for(failures: int, base: float) -> float:
    """The breaker's pause after ``failures`` failures in a row: doubling, capped."""
    return float(min(_MAX_PAUSE, base * 2.0 ** max(0, failures - 1)))


@dataclass(frozen=True, slots=True)
class Lease:
    """One request's hold on an endpoint slot."""

    index: int
    url: str
    name: str
    warm: bool


Probe = Callable[[int], Awaitable[Inventory]]
Prepare = Callable[[int, str], Awaitable[None]]


class Pool:
    """The endpoints of one pool; ``probe(i)`` asks endpoint i what it serves."""

    def __init__(self, states: list[EndpointState], *, probe: Probe,
                 has_model: Callable[[frozenset[str], str], bool], pause: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.states = states
        self._probe = probe
        self._has_model = has_model
        self._pause = pause
        self._clock = clock
        self._changed: Any = None
        self._probing: set[int] = set()

    async def acquire(self, model: str, *, url_of: Callable[[int], str],
                      prepare: Prepare) -> Lease:
        """Wait for a slot; ``prepare(i, model)`` runs first on an endpoint not ready yet."""
        while True:
            await self._refresh(model, prepare)
            index = pick(self.states, model, self._clock(), self._has_model)
            if index is not None:
                state = self.states[index]
                state.inflight += 1
                return Lease(index, url_of(index), state.name, model in state.warm)
            reason = hopeless(self.states, model, self._has_model)
            if reason:
                raise NoEndpoint(reason)
            with anyio.move_on_after(self._next_wake()):
                await self._event().wait()

    def release(self, lease: Lease, *, model: str, failure: str = "") -> None:
        """Give the slot back; a ``failure`` opens the endpoint's breaker."""
        state = self.states[lease.index]
        state.inflight -= 1
        if failure:
            self.fail(lease.index, failure)
        else:
            state.failures = 0
            state.served += 1
            state.warm.add(model)
        self._notify()

    def fail(self, index: int, reason: str) -> None:
        state = self.states[index]
        state.failures += 1
        state.paused_until = self._clock() + pause_for(state.failures, self._pause)
        state.inventory = Inventory(False, reason)
        state.probed_at = -math.inf  # probe again once the pause is over
        state.warm.clear()
        state.prepared.clear()
        self._notify()

    def set_limit(self, index: int, limit: int, why: str) -> None:
        self.states[index].limit, self.states[index].why_limit = limit, why
        self._notify()

    def notify(self) -> None:
        self._notify()

    async def _refresh(self, model: str, prepare: Prepare) -> None:
        """Probe (and prepare) the endpoints that need it, all at once; others wait for it."""
        now = self._clock()
        due = [i for i, state in enumerate(self.states)
               if i not in self._probing and self._due(state, model, now)]
        if not due:
            return
        self._probing.update(due)
        async with anyio.create_task_group() as group:
            for index in due:
                group.start_soon(self._check, index, model, prepare)

    def _due(self, state: EndpointState, model: str, now: float) -> bool:
        if state.broken or state.paused_until > now:
            return False
        if state.inventory is None:
            return True
        if now - state.probed_at >= PROBE_TTL and state.inflight == 0:
            return True
        return model not in state.prepared and usable(state, model, now, self._has_model)

    async def _check(self, index: int, model: str, prepare: Prepare) -> None:
        state = self.states[index]
        try:
            state.inventory = await self._probe(index)
            state.probed_at = self._clock()
            if state.inventory.ok and self._has_model(state.inventory.models, model):
                if self._has_model(state.inventory.loaded, model):
                    state.warm.add(model)
                await prepare(index, model)
                state.prepared.add(model)
        except Exception as exc:  # a probe that crashes is a failing endpoint
            state.inventory = Inventory(False, f"probe failed: {exc}")
            state.probed_at = self._clock()
            if getattr(exc, "final", False):  # a supervised server swarm gave up on
                state.broken = str(exc)
        finally:
            self._probing.discard(index)
            self._notify()

    def _next_wake(self) -> float:
        now = self._clock()
        waits = [s.paused_until - now for s in self.states if s.paused_until > now]
        return max(0.05, min([1.0, *waits]))

    def _event(self) -> Any:
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

