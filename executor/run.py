"""``hookrun run``: one event's hooks as a dependency graph, merged into one response.

Each hook runs in its own thread the moment its dependencies have finished; command hooks
are child processes, ``call`` hooks run in this interpreter. On events where a block stops
the action (PreToolUse, UserPromptSubmit, ...) a block cancels whatever is still running,
because nothing those hooks say can change the outcome any more; elsewhere every hook runs
to the end, as in Claude Code.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor import config as configuration
from hookswarm.executor import records, schedule
from hookswarm.executor.matcher import matches
from hookswarm.executor.merge import BLOCK_PREVENTS, Response, fails_closed, merge
from hookswarm.executor.results import BLOCKED, HookResult
from hookswarm.executor.runners import run_call, run_command
from hookswarm.lib.errors import ConfigError

if TYPE_CHECKING:
    from hookswarm.executor.config import Config, HookSpec
    from hookswarm.lib.process import Child

_REAP_MARGIN = 1.0


class Invocation(NamedTuple):
    """Everything one run needs from the outside world."""

    raw: bytes
    event: str | None
    config_path: str | None
    environ: Mapping[str, str]
    cwd: str
    record: bool = True
    if_configured: bool = False  # a missing config is silent (the plugin runs in every project)


class Outcome(NamedTuple):
    """The merged response and every hook's result, in dependency-respecting config order."""

    response: Response
    results: list[HookResult]


def run_event(invocation: Invocation) -> Response:
    """Run the hooks for the payload in ``invocation`` and return the merged response."""
    return execute(invocation).response


def execute(invocation: Invocation) -> Outcome:
    """Run the hooks for the payload in ``invocation``; the response and each hook's result."""
    clock = time.perf_counter()
    try:
        payload = json.loads(invocation.raw)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _notice("hookrun: the payload on stdin is not a JSON object; hookrun run expects "
                       "the hook input Claude Code sends (allowing the action)")
    event = invocation.event or str(payload.get("hook_event_name") or "")
    if not event:
        return _notice("hookrun: no event: pass one (hookrun run PreToolUse) or send a payload "
                       "with hook_event_name (allowing the action)")
    outcome = _for_event(invocation, payload, event, clock)
    note = event_mismatch(invocation.event, payload.get("hook_event_name"))
    if not note:
        return outcome
    response = outcome.response
    return outcome._replace(response=response._replace(stderr=note + response.stderr))


def event_mismatch(argv_event: str | None, payload_event: Any) -> str:
    """A line for an event on the command line that is unknown or not the payload's, else ""."""
    if argv_event and argv_event not in configuration.EVENTS:
        import difflib

        near = difflib.get_close_matches(argv_event, configuration.EVENTS, n=1)
        problem = (f"unknown event {argv_event!r} on the command line"
                   + (f" (did you mean {near[0]}?)" if near else ""))
    elif argv_event and isinstance(payload_event, str) and payload_event != argv_event:
        problem = (f"the command line says {argv_event} but the payload's hook_event_name is "
                   f"{payload_event}; the {argv_event} hooks ran")
    else:
        return ""
    return (f"hookrun: {problem}; fix the settings entry that runs `hookrun run {argv_event}` "
            "(`hookrun install` writes the right ones)\n")


def _for_event(invocation: Invocation, payload: dict[str, Any], event: str,
               clock: float) -> Outcome:
    project = _project_dir(invocation, payload)
    path = configuration.find(invocation.config_path, environ=invocation.environ,
                              cwd=invocation.cwd)
    if invocation.if_configured and not os.path.exists(path):
        return Outcome(Response(), [])
    try:
        config = configuration.load(path, cache_dir=records.records_dir(project))
    except ConfigError as exc:
        return Outcome(_broken_config(event, path, exc), [])
    hooks = [h for h in config.for_event(event) if matches(h.matcher, event, payload)]
    if not hooks:
        return Outcome(Response(), [])
    started = time.perf_counter()
    results = _Graph(event, hooks, payload, invocation, project, started).execute()
    response = merge(event, results, on_error={h.name: h.on_error for h in hooks},
                     budget=config.context_budget)
    if invocation.record:
        _record(project, event, payload, config, results, response,
                setup=started - clock, total=time.perf_counter() - clock)
    return Outcome(response, results)


def _project_dir(invocation: Invocation, payload: Mapping[str, Any]) -> str:
    project = invocation.environ.get("CLAUDE_PROJECT_DIR") or payload.get("cwd")
    return project if isinstance(project, str) and project else invocation.cwd


def _notice(line: str) -> Outcome:
    return Outcome(Response(stdout=json.dumps({"systemMessage": line}), stderr=line + "\n"), [])


def _broken_config(event: str, path: str, exc: ConfigError) -> Response:
    """A config that cannot be used fails open, or closed if its defaults say on_error=block."""
    fix = "run `hookrun validate` to see every problem"
    if fails_closed(event, configuration.fallback_on_error(path)):
        line = f"hookrun: {exc}; blocking because [defaults] on_error = \"block\"; {fix}"
        blocked = HookResult(position=0, name="hookrun", status=BLOCKED, reason=line)
        response = merge(event, [blocked], on_error={})
        return Response(stdout=response.stdout, stderr=line + "\n" + response.stderr,
                        exit_code=response.exit_code, outcome="block")
    return _notice(f"hookrun: {exc}; no hook ran (failing open); {fix}").response


class _Graph:
    """One execution of a set of hooks; lives for a single run."""

    def __init__(self, event: str, hooks: list[HookSpec], payload: dict[str, Any],
                 invocation: Invocation, project: str, started: float) -> None:
        self._event = event
        self._hooks = {h.name: h for h in hooks}
        self._order = schedule.stable_order([h.name for h in hooks],
                                            {h.name: h.after for h in hooks})
        self._payload = payload
        self._invocation = invocation
        self._environ = {"CLAUDE_PROJECT_DIR": project, **invocation.environ}
        self._started = started
        self._results: dict[str, HookResult] = {}
        self._effective: dict[str, Any] = {}  # tool input after each finished hook
        self._running: dict[str, float] = {}
        self._children: dict[str, Child] = {}
        self._lock = threading.Lock()
        self._cancelling = False
        self._done: queue.SimpleQueue[tuple[str, HookResult, float, float]] = queue.SimpleQueue()
        _import_before_project(hooks)
        if any(h.call for h in hooks) and project not in sys.path:
            sys.path.insert(0, project)

    def execute(self) -> list[HookResult]:
        """Run to completion; results come back in dependency-respecting config order."""
        while len(self._results) < len(self._hooks):
            self._start_ready()
            if not self._running:
                break
            self._wait_one()
        return [self._results[name] for name in self._order]

    def _start_ready(self) -> None:
        after = {name: hook.after for name, hook in self._hooks.items()}
        for name in schedule.ready(self._order, after, finished=self._results,
                                   started=self._running.keys() | self._results.keys()):
            self._running[name] = self._now()
            thread = threading.Thread(target=self._work, args=(self._hooks[name],), daemon=True)
            thread.start()

    def _work(self, hook: HookSpec) -> None:
        start = self._now()
        try:
            result = self._run(hook)
        except BaseException as exc:  # a result must always arrive, or the run waits forever
            result = HookResult.call_failed(hook, exc)
        self._done.put((hook.name, result, start, self._now()))

    def _run(self, hook: HookSpec) -> HookResult:
        if hook.call:
            return run_call(hook, self._payload_for(hook))
        return run_command(hook, self._stdin_for(hook), cwd=self._invocation.cwd,
                           environ=self._environ, on_start=self._register(hook.name))

    def _register(self, name: str) -> Callable[[Child], None]:
        def remember(child: Child) -> None:
            with self._lock:
                self._children[name] = child
                if self._cancelling:
                    child.cancel()
        return remember

    def _wait_one(self) -> None:
        try:
            name, result, start, end = self._done.get(timeout=self._until_next_deadline())
        except queue.Empty:
            self._expire_calls()
            return
        if name not in self._running:
            return  # a call hook that was already given up on
        self._finish(name, result.timed(start, end))

    def _finish(self, name: str, result: HookResult) -> None:
        del self._running[name]
        self._results[name] = result
        self._note_input(name, result)
        if self._settles(result):
            self._cancel_rest()

    def _until_next_deadline(self) -> float:
        deadlines = [start + self._hooks[name].timeout + (0 if self._hooks[name].call
                                                          else _REAP_MARGIN)
                     for name, start in self._running.items()]
        return max(0.0, min(deadlines) - self._now())

    def _expire_calls(self) -> None:
        """Give up on hooks past their deadline; a call hook's thread is simply abandoned."""
        now = self._now()
        for name, start in list(self._running.items()):
            if name not in self._running:
                continue  # cancelled by an earlier expiry that decided the run
            hook = self._hooks[name]
            if hook.command:
                if now >= start + hook.timeout + _REAP_MARGIN:
                    self._kill(name, cancel=False)  # its own timeout should have fired
            elif now >= start + hook.timeout:
                self._finish(name, HookResult.timed_out(hook).timed(start, now))

    def _settles(self, result: HookResult) -> bool:
        """Does this one result decide a block, so nothing else can change the outcome?"""
        if self._event not in BLOCK_PREVENTS:
            return False
        hook = self._hooks[result.name]
        if result.status == BLOCKED or (result.failed and fails_closed(self._event, hook.on_error)):
            return True
        answer = result.output
        if not isinstance(answer, dict):
            return False
        specific = answer.get("hookSpecificOutput")
        if self._event == "PreToolUse" and isinstance(specific, dict):
            return specific.get("permissionDecision") == "deny" or answer.get("decision") == "block"
        return answer.get("decision") == "block"

    def _cancel_rest(self) -> None:
        now = self._now()
        for name in self._order:
            if name not in self._results and name not in self._running:
                self._results[name] = HookResult.skipped(self._hooks[name]).timed(now, now)
        for name, start in list(self._running.items()):
            if self._hooks[name].call:
                del self._running[name]
                self._results[name] = HookResult.cancelled(self._hooks[name]).timed(start, now)
            else:
                self._kill(name, cancel=True)

    def _kill(self, name: str, *, cancel: bool) -> None:
        with self._lock:
            self._cancelling = self._cancelling or cancel
            child = self._children.get(name)
        if child is None:
            return
        if cancel:
            child.cancel()
        else:
            from hookswarm.lib.process import kill_group

            kill_group(child.pid)

    def _payload_for(self, hook: HookSpec) -> dict[str, Any]:
        deps = [d for d in hook.after if d in self._results]
        payload: dict[str, Any] = json.loads(self._invocation.raw)
        if not deps:
            return payload
        payload["hookrun"] = {"upstream": {d: _upstream(self._results[d]) for d in deps}}
        tool_input = self._piped_input(hook)
        if tool_input is not None:
            payload["tool_input"] = tool_input
        return payload

    def _stdin_for(self, hook: HookSpec) -> bytes:
        if not any(d in self._results for d in hook.after):
            return self._invocation.raw
        return json.dumps(self._payload_for(hook)).encode()

    def _piped_input(self, hook: HookSpec) -> Any:
        """The tool input a dependent sees: the latest ``updatedInput`` along its ancestors."""
        latest = None
        for name in self._order:
            if name in hook.after and name in self._effective:
                latest = self._effective[name] or latest
        return latest

    def _note_input(self, name: str, result: HookResult) -> None:
        """Remember the tool input after ``name``: its own rewrite, else what it inherited."""
        self._effective[name] = _updated_input(result) or self._piped_input(self._hooks[name])

    def _now(self) -> float:
        return time.perf_counter() - self._started


def _import_before_project(hooks: list[HookSpec]) -> None:
    """Load what command hooks need while the project is not yet on ``sys.path``.

    Call hooks import from the project directory, so from then on its ``signal.py`` or
    ``selectors.py`` would shadow the standard library for hookrun's own late imports.
    """
    if any(h.command for h in hooks):
        import hookswarm.lib.process  # noqa: F401


def _upstream(result: HookResult) -> dict[str, Any]:
    return {"status": result.status, "exit_code": result.exit_code, "output": result.output,
            "reason": result.reason}


def _updated_input(result: HookResult) -> Any:
    if not isinstance(result.output, dict):  # a failed hook's JSON counts, as in merge
        return None
    specific = result.output.get("hookSpecificOutput")
    return specific.get("updatedInput") if isinstance(specific, dict) else None


def _record(project: str, event: str, payload: Mapping[str, Any], config: Config,
            results: list[HookResult], response: Response, *, setup: float,
            total: float) -> None:
    records.append(records.records_dir(project), {
        "v": records.RECORD_VERSION, "ts": round(time.time(), 3), "event": event,
        "tool": payload.get("tool_name"), "session_id": payload.get("session_id"),
        "config": config.path, "outcome": response.outcome, "pid": os.getpid(),
        "setup_ms": round(setup * 1000, 2), "total_ms": round(total * 1000, 2),
        "hooks": [
            {"name": r.name, "index": r.position, "start_ms": round(r.start * 1000, 2),
             "end_ms": round(r.end * 1000, 2), "status": r.status, "exit_code": r.exit_code,
             "stdout_bytes": r.stdout_bytes, "stderr_bytes": r.stderr_bytes,
             "timeout": config.hooks[r.position].timeout,
             "context_bytes": response.context_bytes.get(r.name, 0),
             "context_cut": r.name in response.context_cut}
            for r in results
        ],
    })
