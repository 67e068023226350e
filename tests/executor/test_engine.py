"""The graph engine's pure core: events and times in, actions out."""

from __future__ import annotations

import pytest

from hookswarm.executor.engine import REAP_MARGIN, Cancel, Engine, Kill, Start
from hookswarm.executor.results import HookResult
from hookswarm.lib.hookconfig import HookSpec


def hook(name: str, *after: str, call: bool = False, timeout: float = 10,
         cancel: bool = False) -> HookSpec:
    return HookSpec(position=0, name=name, event="PreToolUse", command="" if call else "x",
                    call="m:f" if call else "", after=after, timeout=timeout,
                    cancel_on_block=cancel)


def ok(name: str) -> HookResult:
    return HookResult(position=0, name=name, status="ok")


def denied(name: str) -> HookResult:
    return HookResult(position=0, name=name, status="blocked", reason="no")


def engine_of(*hooks: HookSpec) -> Engine:
    """An engine where a ``blocked`` result blocks, as on PreToolUse."""
    return Engine(hooks, blocks=lambda r: r.status in ("blocked", "timeout"))


def statuses(engine: Engine) -> dict[str, str]:
    return {r.name: r.status for r in engine.results()}


def test_independent_hooks_start_together_in_config_order() -> None:
    engine = engine_of(*[hook("b"), hook("a"), hook("c", "a")])
    assert engine.begin(0.0) == [Start("b"), Start("a")]


def test_a_dependent_starts_the_moment_its_own_dependencies_finish() -> None:
    engine = engine_of(*[hook("slow"), hook("fast"), hook("needs_fast", "fast"),
                     hook("needs_both", "fast", "slow")])
    assert engine.begin(0.0) == [Start("slow"), Start("fast")]
    assert engine.finished(ok("fast"), 1.0) == [Start("needs_fast")]
    assert engine.finished(ok("needs_fast"), 2.0) == []
    assert engine.finished(ok("slow"), 3.0) == [Start("needs_both")]
    assert not engine.done
    assert engine.finished(ok("needs_both"), 4.0) == []
    assert engine.done


def test_a_block_cancels_nothing_and_dependents_still_start() -> None:
    engine = engine_of(*[hook("logger"), hook("guard"), hook("after-log", "logger")])
    engine.begin(0.0)
    assert engine.finished(denied("guard"), 0.1) == []
    assert engine.blocked
    assert engine.finished(ok("logger"), 5.0) == [Start("after-log")]
    engine.finished(ok("after-log"), 6.0)
    assert statuses(engine) == {"logger": "ok", "guard": "blocked", "after-log": "ok"}


def test_hooks_that_opt_in_are_cancelled_or_skipped_by_a_block() -> None:
    engine = engine_of(*[hook("pure-cmd", cancel=True), hook("pure-call", call=True, cancel=True),
                     hook("logger"), hook("guard"), hook("pure-next", "logger", cancel=True),
                     hook("log-next", "pure-next")])
    engine.begin(0.0)
    assert engine.finished(denied("guard"), 1.0) == [Cancel("pure-cmd")]
    assert engine.result("pure-call") == HookResult.cancelled(hook("pure-call")).timed(0.0, 1.0)
    assert engine.finished(ok("logger"), 2.0) == [Start("log-next")]
    engine.finished(HookResult.cancelled(hook("pure-cmd")), 2.5)
    engine.finished(ok("log-next"), 3.0)
    assert statuses(engine) == {"pure-cmd": "cancelled", "pure-call": "cancelled",
                                "logger": "ok", "guard": "blocked", "pure-next": "skipped",
                                "log-next": "ok"}


def test_only_the_first_block_cancels() -> None:
    engine = engine_of(*[hook("a"), hook("b"), hook("late", cancel=True)])
    engine.begin(0.0)
    assert engine.finished(denied("a"), 1.0) == [Cancel("late")]
    assert engine.finished(denied("b"), 2.0) == []


@pytest.mark.parametrize(("call", "at", "actions", "status"), [
    (True, 9.9, [], None),
    (True, 10.0, [], "timeout"),
    (False, 10.0, [], None),  # the command hook's runner enforces its timeout
    (False, 10.0 + REAP_MARGIN, [Kill("h")], None),  # it did not: kill the group
])
def test_deadlines(call: bool, at: float, actions: list[object], status: str | None) -> None:
    engine = engine_of(*[hook("h", call=call, timeout=10)])
    engine.begin(0.0)
    assert engine.expire(at) == actions
    found = engine.result("h")
    assert (found.status if found else None) == status


def test_a_call_hook_given_up_on_is_not_recorded_twice() -> None:
    engine = engine_of(*[hook("h", call=True, timeout=1), hook("next", "h")])
    engine.begin(0.0)
    assert engine.expire(1.0) == [Start("next")]
    assert engine.finished(ok("h"), 5.0) == []
    assert engine.result("h").status == "timeout"  # type: ignore[union-attr]


def test_a_timeout_that_blocks_cancels_hooks_that_opted_in() -> None:
    engine = engine_of(hook("stuck", call=True, timeout=1), hook("pure", cancel=True))
    engine.begin(0.0)
    assert engine.expire(1.0) == [Cancel("pure")]
    assert engine.blocked


def test_the_nearest_deadline_comes_first() -> None:
    engine = engine_of(*[hook("long", timeout=30, call=True), hook("short", timeout=2, call=True)])
    assert engine.next_deadline() is None
    engine.begin(1.0)
    assert engine.next_deadline() == 3.0
    engine.finished(ok("short"), 1.5)
    engine.expire(3.0)  # the finished hook's stale deadline is dropped
    assert engine.next_deadline() == 31.0


def test_a_ten_thousand_hook_chain_runs_in_order() -> None:
    names = [f"h{i}" for i in range(10_000)]
    engine = engine_of(*[hook(n, *names[i - 1:i]) for i, n in enumerate(names)])
    started = [a.name for a in engine.begin(0.0) if isinstance(a, Start)]
    while not engine.done:
        started += [a.name for a in engine.finished(ok(started[-1]), 0.0)
                    if isinstance(a, Start)]
    assert started == names


def test_when_the_events_time_runs_out_every_hook_not_done_ends_there() -> None:
    # A command hook whose process has not even started (a slow warm start) cannot be killed
    # into reporting; the answer must still leave before Claude Code stops waiting for it.
    engine = Engine([hook("deny"), hook("starting"), hook("chained", "starting"),
                     hook("thread", call=True)], within=3.0)
    engine.begin(0.0)
    assert engine.next_deadline() == 3.0
    engine.finished(denied("deny"), 0.5)
    assert engine.expire(3.0) == [Kill("starting")]
    assert engine.done
    assert statuses(engine) == {"deny": "blocked", "starting": "timeout", "chained": "timeout",
                                "thread": "timeout"}
    assert {r.name: (r.start, r.end) for r in engine.results()}["chained"] == (3.0, 3.0)
    assert "the event's 3 s ran out" in engine.results()[1].reason
    assert engine.finished(ok("starting"), 4.0) == []  # its late report changes nothing
