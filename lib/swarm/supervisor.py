"""Watching one worker: its output goes to the log, silence and deadlines decide when to stop it.

The watcher sleeps until the next moment something can happen (a silence threshold or the
deadline), so it costs nothing between events and reacts on time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from hookswarm.lib.swarm.evidence import Stop
from hookswarm.lib.swarm.heartbeat import Pulse, pulse
from hookswarm.lib.swarm.timeouts import next_deadline, why_stopped

if TYPE_CHECKING:
    from hookswarm.lib.swarm.backend import Worker, WorkerEnd
    from hookswarm.lib.swarm.config import Limits

Notify = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class Watch:
    """The live state of one supervised worker."""

    started: float
    last_output: float
    deadline: float
    progressed: bool = False
    warned: bool = False
    stop: Stop = Stop.NONE
    stop_reason: str = ""
    output_bytes: int = 0
    deadlines: list[float] = field(default_factory=list)


async def supervise(worker: Worker, limits: Limits, *, log: Callable[[bytes], None],
                    notify: Notify,
                    clock: Callable[[], float] = time.monotonic) -> tuple[WorkerEnd, Watch]:
    """Run ``worker`` to its end, stopping it on silence or on its (progressive) deadline."""
    now = clock()
    watch = Watch(started=now, last_output=now, deadline=limits.initial,
                  deadlines=[limits.initial])

    def on_output(chunk: bytes) -> None:
        log(chunk)
        watch.last_output = clock()
        watch.progressed = True
        watch.output_bytes += len(chunk)

    async with anyio.create_task_group() as group:
        group.start_soon(_watchdog, worker, limits, watch, notify, clock)
        end = await worker.run(on_output)
        group.cancel_scope.cancel()
    return end, watch


async def _watchdog(worker: Worker, limits: Limits, watch: Watch, notify: Notify,
                    clock: Callable[[], float]) -> None:
    while watch.stop is Stop.NONE:
        await anyio.sleep(max(0.0, _next_event(limits, watch) - clock()))
        _check(limits, watch, notify, clock())
    await worker.stop(grace=limits.grace)


def _next_event(limits: Limits, watch: Watch) -> float:
    beat = limits.heartbeat
    silence_at = watch.last_output + (beat.kill if watch.warned else min(beat.warn, beat.kill))
    return min(silence_at, watch.started + watch.deadline)


def _check(limits: Limits, watch: Watch, notify: Notify, now: float) -> None:
    silence = now - watch.last_output
    state = pulse(limits.heartbeat, silence)
    if state is Pulse.KILL:
        watch.stop = Stop.SILENCE
        watch.stop_reason = f"no output for {silence:.1f}s (limit {limits.heartbeat.kill:g}s)"
        return
    if state is Pulse.WARN and not watch.warned:
        watch.warned = True
        notify("warned", {"silence": round(silence, 3)})
    if now - watch.started >= watch.deadline:
        _at_deadline(limits, watch, notify)


def _at_deadline(limits: Limits, watch: Watch, notify: Notify) -> None:
    policy, deadline, progressed = limits.timeouts, watch.deadline, watch.progressed
    extended = next_deadline(policy, deadline=deadline, progressed=progressed)
    if extended is None:
        watch.stop = Stop.TIMEOUT
        why = why_stopped(policy, deadline=deadline)
        watch.stop_reason = f"ran past its deadline of {watch.deadline:g}s ({why})"
        return
    watch.deadline, watch.progressed = extended, False
    watch.deadlines.append(extended)
    notify("extended", {"deadline": extended})
