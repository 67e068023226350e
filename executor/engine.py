"""The graph engine's pure core: given what just happened and the time, what to do next.

No I/O, no clock, no threads: the shell in ``graph`` reports starts, finishes and the time,
and performs the actions this returns (start a hook, cancel one, kill one). Bookkeeping is a
ready queue (a heap in config order) and a deadline heap, so each event costs O(log n) plus
the finished hook's own edges.

A block decides the answer, not which hooks run: every started hook runs to its end or its
own timeout and dependents still start, except hooks that opt in to ``cancel_on_block``.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, NamedTuple

from hookswarm.executor.results import HookResult
from hookswarm.lib.schedule import dependents_of, stable_order, waiting_counts

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hookswarm.lib.hookconfig import HookSpec

# A command hook's runner enforces its timeout; the engine kills it itself only this late.
REAP_MARGIN = 1.0


class Start(NamedTuple):
    name: str


class Cancel(NamedTuple):
    """Stop a running command hook because a block decided; its runner reports ``cancelled``."""

    name: str


class Kill(NamedTuple):
    """A command hook overran its own timeout: kill its process group."""

    name: str


Action = Start | Cancel | Kill


class Engine:
    """The state of one run of a set of hooks whose ``after`` graph has no cycle.

    ``blocks`` says whether a result decides a block that the event's action obeys.
    """

    def __init__(self, hooks: Sequence[HookSpec], *,
                 blocks: Callable[[HookResult], bool] = lambda _: False,
                 within: float | None = None) -> None:
        self._blocks = blocks
        self._within = within  # seconds the whole run may take (None: each hook's own time)
        self._give_up: float | None = None
        after = {h.name: h.after for h in hooks}
        self.order = stable_order([h.name for h in hooks], after)
        self._hooks = {h.name: h for h in hooks}
        self._rank = {name: index for index, name in enumerate(self.order)}
        self._dependents = dependents_of(self.order, after)
        self._waiting = waiting_counts(self.order, self._dependents)
        self._ready = [self._rank[name] for name, count in self._waiting.items() if not count]
        heapq.heapify(self._ready)
        self._deadlines: list[tuple[float, int]] = []
        self._running: dict[str, float] = {}
        self._results: dict[str, HookResult] = {}
        self.blocked = False

    @property
    def done(self) -> bool:
        return len(self._results) == len(self._hooks)

    def results(self) -> list[HookResult]:
        """Every result, in dependency-respecting config order (call when ``done``)."""
        return [self._results[name] for name in self.order]

    def result(self, name: str) -> HookResult | None:
        return self._results.get(name)

    def position(self, name: str) -> int:
        """``name``'s place in the run order; names outside the run come last."""
        return self._rank.get(name, len(self._rank))

    def begin(self, now: float) -> list[Action]:
        if self._within is not None:
            self._give_up = now + self._within
        return self._launch(now)

    def finished(self, result: HookResult, now: float) -> list[Action]:
        """A hook reported ``result``."""
        if result.name not in self._running:
            return []  # a call hook already given up on (timed out or cancelled)
        return self._conclude(result, now) + self._launch(now)

    def expire(self, now: float) -> list[Action]:
        """Act on every deadline that has passed: time out call hooks, kill command hooks."""
        if self._give_up is not None and now >= self._give_up:
            return self._out_of_time(now)
        actions: list[Action] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, rank = heapq.heappop(self._deadlines)
            name = self.order[rank]
            if name not in self._running:
                continue
            hook = self._hooks[name]
            if hook.call:  # a thread cannot be killed: its result is decided here
                timed_out = HookResult.timed_out(hook).timed(self._running[name], now)
                actions += self._conclude(timed_out, now)
            else:
                actions.append(Kill(name))
        return actions + self._launch(now)

    def next_deadline(self) -> float | None:
        first = self._deadlines[0][0] if self._deadlines else None
        if self._give_up is None:
            return first
        return self._give_up if first is None else min(first, self._give_up)

    def _out_of_time(self, now: float) -> list[Action]:
        """The run's time is up: every hook not done ends here, the running ones killed."""
        assert self._within is not None
        kills: list[Action] = [Kill(n) for n in self._running if not self._hooks[n].call]
        for name in self.order:
            if name not in self._results:
                hook = self._hooks[name]
                started = self._running.get(name, now)
                self._record(HookResult.out_of_time(hook, self._within).timed(started, now))
        self._ready, self._deadlines = [], []
        return kills

    def _launch(self, now: float) -> list[Action]:
        actions: list[Action] = []
        while self._ready:
            hook = self._hooks[self.order[heapq.heappop(self._ready)]]
            if self.blocked and hook.cancel_on_block:
                self._record(HookResult.skipped(hook).timed(now, now))
                continue
            self._running[hook.name] = now
            margin = 0.0 if hook.call else REAP_MARGIN
            heapq.heappush(self._deadlines, (now + hook.timeout + margin, self._rank[hook.name]))
            actions.append(Start(hook.name))
        return actions

    def _conclude(self, result: HookResult, now: float) -> list[Action]:
        self._record(result)
        if self.blocked or not self._blocks(result):
            return []
        self.blocked = True
        return self._cancel_opted_in(now)

    def _record(self, result: HookResult) -> None:
        self._running.pop(result.name, None)
        self._results[result.name] = result
        for dependent in self._dependents.get(result.name, ()):
            self._waiting[dependent] -= 1
            if not self._waiting[dependent]:
                heapq.heappush(self._ready, self._rank[dependent])

    def _cancel_opted_in(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for name, start in list(self._running.items()):
            hook = self._hooks[name]
            if not hook.cancel_on_block:
                continue
            if hook.call:
                self._record(HookResult.cancelled(hook).timed(start, now))
            else:
                actions.append(Cancel(name))
        return actions
