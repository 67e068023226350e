"""The graph engine's shell: feeds the pure core in ``engine`` and performs its actions.

A runner starts hooks and reports their results; the real one gives each hook a thread
(command hooks are child processes, ``call`` hooks run in this interpreter). Tests inject a
fake runner whose outcome is written in the command text.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from hookswarm.executor.engine import Cancel, Engine, Kill, Start
from hookswarm.executor.results import HookResult
from hookswarm.executor.runners import guard_exit, run_call, run_command

if TYPE_CHECKING:
    from hookswarm.executor.engine import Action
    from hookswarm.lib.hookconfig import HookSpec
    from hookswarm.lib.process import Child
    from hookswarm.lib.warm import Pool

# (result, start, end): what a runner reports for one hook, times from the shell's clock.
Report = Callable[[HookResult, float, float], None]
Clock = Callable[[], float]


class Runner(Protocol):
    """Starts hooks and reports each result exactly once, from any thread."""

    def start(self, hook: HookSpec, request: dict[str, Any] | bytes, report: Report) -> None:
        """Start ``hook``; ``request`` is its payload (call hooks) or its stdin (command hooks)."""

    def cancel(self, name: str) -> None:
        """Stop a running command hook; it reports ``cancelled``."""

    def kill(self, name: str) -> None:
        """Kill a command hook that overran its own timeout."""


def run_graph(hooks: list[HookSpec], raw: bytes, *, runner: Runner,
              blocks: Callable[[HookResult], bool], clock: Clock,
              within: float | None = None) -> list[HookResult]:
    """Run ``hooks`` on the payload ``raw`` to completion; results in the engine's order.

    ``blocks`` says whether a result decides a block that the event's action obeys; after
    ``within`` seconds every hook not done yet ends as timed out.
    """
    return _Shell(hooks, raw, runner, Engine(hooks, blocks=blocks, within=within), clock).run()


class _Shell:
    def __init__(self, hooks: list[HookSpec], raw: bytes, runner: Runner, engine: Engine,
                 clock: Clock) -> None:
        self._hooks = {h.name: h for h in hooks}
        self._engine = engine
        self._raw = raw
        self._runner = runner
        self._clock = clock
        self._effective: dict[str, Any] = {}  # tool input after each finished hook
        self._done: queue.SimpleQueue[HookResult] = queue.SimpleQueue()

    def run(self) -> list[HookResult]:
        self._perform(self._engine.begin(self._clock()))
        while not self._engine.done:
            self._perform(self._next_event())
        return self._engine.results()

    def _next_event(self) -> list[Action]:
        deadline = self._engine.next_deadline()
        wait = None if deadline is None else max(0.0, deadline - self._clock())
        try:
            result = self._done.get(timeout=wait)
        except queue.Empty:
            return self._engine.expire(self._clock())
        if self._engine.result(result.name) is None:
            self._note_input(result)
        return self._engine.finished(result, self._clock())

    def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Start):
                hook = self._hooks[action.name]
                self._runner.start(hook, self._request(hook), self._report)
            elif isinstance(action, Cancel):
                self._runner.cancel(action.name)
            elif isinstance(action, Kill):
                self._runner.kill(action.name)

    def _report(self, result: HookResult, start: float, end: float) -> None:
        self._done.put(result.timed(start, end))

    def _request(self, hook: HookSpec) -> dict[str, Any] | bytes:
        upstream = {d: _upstream(r) for d in hook.after
                    if (r := self._engine.result(d)) is not None}
        if not upstream:
            return json.loads(self._raw) if hook.call else self._raw
        payload = self._payload_for(hook, upstream)
        return payload if hook.call else json.dumps(payload).encode()

    def _payload_for(self, hook: HookSpec, upstream: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self._raw)
        payload["hookrun"] = {"upstream": upstream}
        tool_input = self._piped_input(hook)
        if tool_input is not None:
            payload["tool_input"] = tool_input
        return payload

    def _piped_input(self, hook: HookSpec) -> Any:
        """The tool input a dependent sees: the latest ``updatedInput`` along its ancestors."""
        latest = None
        for name in sorted(hook.after, key=self._engine.position):
            latest = self._effective.get(name) or latest
        return latest

    def _note_input(self, result: HookResult) -> None:
        """Remember the tool input after a hook: its own rewrite, else what it inherited."""
        hook = self._hooks[result.name]
        self._effective[hook.name] = _updated_input(result) or (
            self._piped_input(hook) if hook.after else None)


class Threads:
    """Runs each job on a thread of its own at once, reusing threads whose job has ended.

    A new thread costs a hand-over of the interpreter lock; 10,000 quick hooks need a few.
    ``hookrun serve`` keeps one across events, so an event starts no thread it has had before.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            spawn = not self._idle
            self._idle -= 0 if spawn else 1
            self._threads += 1 if spawn else 0
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        """Let every thread end once its job has (a hung call hook keeps its thread)."""
        for _ in range(self._threads):
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()
            with self._lock:
                self._idle += 1


class ThreadRunner:
    """The real runner: a thread per running hook; command hooks go through ``lib.process``."""

    def __init__(self, *, cwd: str, environ: Mapping[str, str], clock: Clock,
                 warm: Pool | None = None, threads: Threads | None = None) -> None:
        guard_exit()
        self._warm = warm
        self._owns_threads = threads is None
        self._threads = threads or Threads()
        self._cwd = cwd
        self._environ = environ
        self._clock = clock
        self._lock = threading.Lock()
        self._children: dict[str, Child] = {}
        self._cancelled: set[str] = set()
        self._killed: set[str] = set()  # killed before its process started (a slow warm start)

    def start(self, hook: HookSpec, request: dict[str, Any] | bytes, report: Report) -> None:
        self._threads.submit(lambda: self._work(hook, request, report))

    def close(self) -> None:
        """The run is over: no more hooks start, idle threads end (unless they are shared)."""
        if self._owns_threads:
            self._threads.close()

    def cancel(self, name: str) -> None:
        with self._lock:
            self._cancelled.add(name)
            child = self._children.get(name)
        if child is not None:
            child.cancel()

    def kill(self, name: str) -> None:
        with self._lock:
            child = self._children.get(name)
            if child is None:
                self._killed.add(name)
        if child is not None:
            _kill(child)

    def _work(self, hook: HookSpec, request: dict[str, Any] | bytes, report: Report) -> None:
        start = self._clock()
        try:
            result = self._run(hook, request)
        except BaseException as exc:  # a result must always arrive, or the run waits forever
            result = HookResult.call_failed(hook, exc)
        report(result, start, self._clock())

    def _run(self, hook: HookSpec, request: dict[str, Any] | bytes) -> HookResult:
        if isinstance(request, dict):
            return run_call(hook, request)
        return run_command(hook, request, cwd=self._cwd, environ=self._environ,
                           on_start=lambda child: self._register(hook.name, child),
                           warm=self._warm)

    def _register(self, name: str, child: Child) -> None:
        with self._lock:
            self._children[name] = child
            cancelled = name in self._cancelled
            killed = name in self._killed
        if killed:
            _kill(child)
        elif cancelled:
            child.cancel()


def _kill(child: Child) -> None:
    from hookswarm.lib.process import kill_group  # subprocess only with command hooks

    kill_group(child.pid)


def _upstream(result: HookResult) -> dict[str, Any]:
    return {"status": result.status, "exit_code": result.exit_code, "output": result.output,
            "reason": result.reason}


def _updated_input(result: HookResult) -> Any:
    if not isinstance(result.output, dict):  # a failed hook's JSON counts, as in merge
        return None
    specific = result.output.get("hookSpecificOutput")
    return specific.get("updatedInput") if isinstance(specific, dict) else None


def monotonic_clock() -> Clock:
    """Seconds since this call: the run's time axis."""
    origin = time.perf_counter()
    return lambda: time.perf_counter() - origin
