"""``hookrun run``: one event's hooks as a dependency graph, merged into one response.

Each hook starts the moment its dependencies have finished (see ``graph`` and ``engine``).
A block decides the answer, not which hooks run: as in Claude Code, every started hook runs
to its end or its own timeout, except hooks that opt in to ``cancel_on_block``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor import hookenv, records
from hookswarm.executor.graph import Runner, ThreadRunner, monotonic_clock, run_graph
from hookswarm.executor.merge import Response, blocks, fails_closed, merge
from hookswarm.executor.results import BLOCKED, HookResult
from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.events import rules
from hookswarm.lib.matcher import matches

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.executor.graph import Threads
    from hookswarm.lib.hookconfig import Config, HookSpec
    from hookswarm.lib.warm import Pool


class Invocation(NamedTuple):
    """Everything one run needs from the outside world."""

    raw: bytes
    event: str | None
    config_path: str | None
    environ: Mapping[str, str]
    cwd: str
    record: bool = True
    if_configured: bool = False  # a missing config is silent (the plugin runs in every project)
    config: Config | None = None  # already loaded (``hookrun serve`` keeps one between events)
    warm: Pool | None = None  # ``hookrun serve``'s zygotes for Python script hooks
    threads: Threads | None = None  # ``hookrun serve``'s threads, kept across events
    kept_environ: bool = False  # ``environ`` is a session's, kept by ``hookrun serve``
    within: float | None = None  # seconds the hooks may take in all (Claude Code waits no longer)


class Outcome(NamedTuple):
    """The merged response and every hook's result, in dependency-respecting config order."""

    response: Response
    results: list[HookResult]


def run_event(invocation: Invocation) -> Response:
    """Run the hooks for the payload in ``invocation`` and return the merged response."""
    return execute(invocation).response


def execute(invocation: Invocation, *, runner: Runner | None = None) -> Outcome:
    """Run the hooks for the payload in ``invocation``; the response and each hook's result.

    ``runner`` starts the hooks (default: a thread each, command hooks as processes). A
    failure of hookrun's own (a payload nested too deep to read, a fault while scheduling or
    merging) still ends in an answer, per ``on_error``, with one line on stderr.
    """
    path = configuration.find(invocation.config_path, environ=invocation.environ,
                              cwd=invocation.cwd)
    progress = _Progress(invocation.event or "", path)
    try:
        return _execute(invocation, runner, progress)
    except Exception as exc:
        return Outcome(_own_failure(progress, exc), [])


class _Progress:
    """How far a run got: what a failure of hookrun's own is reported against."""

    def __init__(self, event: str, path: str) -> None:
        self.stage = "reading the payload"
        self.event = event
        self.path = path
        self.on_error = ""  # until the hooks are known: what the config says for the event

    def fails_closed(self) -> bool:
        if not self.event:
            return False
        return fails_closed(self.event, self.on_error or _config_on_error(self.path, self.event))


def _config_on_error(path: str, event: str) -> str:
    """"block" when a hook for ``event`` (or the defaults of a broken config) fails closed."""
    try:
        hooks = configuration.load(path).for_event(event)
    except ConfigError:
        return configuration.fallback_on_error(path)
    return "block" if any(h.on_error == "block" for h in hooks) else "allow"


def _execute(invocation: Invocation, runner: Runner | None,
             progress: _Progress) -> Outcome:
    clock = time.perf_counter()
    payload = _parse_payload(invocation.raw)
    if not isinstance(payload, dict):
        return _notice("hookrun: the payload on stdin is not a JSON object; hookrun run expects "
                       "the hook input Claude Code sends (allowing the action)")
    event = invocation.event or str(payload.get("hook_event_name") or "")
    if not event:
        return _notice("hookrun: no event: pass one (hookrun run PreToolUse) or send a payload "
                       "with hook_event_name (allowing the action)")
    progress.event, progress.stage = event, "loading the config"
    outcome = _for_event(invocation, payload, event, clock, runner, progress)
    note = event_mismatch(invocation.event, payload.get("hook_event_name"))
    if not note:
        return outcome
    response = outcome.response
    return outcome._replace(response=response._replace(stderr=note + response.stderr))


def event_mismatch(argv_event: str | None, payload_event: Any) -> str:
    """A line for an event on the command line that is unknown or not the payload's, else ""."""
    if argv_event and argv_event not in configuration.EVENTS:
        import difflib  # only for a mistyped event

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


def _for_event(invocation: Invocation, payload: dict[str, Any], event: str, clock: float,
               runner: Runner | None, progress: _Progress) -> Outcome:
    project = _project_dir(invocation, payload)
    path = progress.path
    if invocation.if_configured and not os.path.exists(path):
        return Outcome(Response(), [])
    try:
        config = invocation.config or configuration.load(path,
                                                         cache_dir=records.records_dir(project))
    except ConfigError as exc:
        return Outcome(_broken_config(event, path, exc), [])
    hooks = [h for h in config.for_event(event) if matches(h.matcher, event, payload)]
    if not hooks:
        return Outcome(Response(), [])
    progress.stage = "running the hooks"
    progress.on_error = "block" if any(h.on_error == "block" for h in hooks) else "allow"
    started = time.perf_counter()
    environ = _environ(invocation, project, event, payload)
    results = _run_hooks(event, hooks, invocation, project, environ, runner)
    progress.stage = "merging the answers"
    response = merge(event, results, on_error={h.name: h.on_error for h in hooks},
                     budget=config.context_budget)
    if invocation.record:
        _record(project, event, payload, config, results, response,
                setup=started - clock, total=time.perf_counter() - clock)
    return Outcome(response, results)


def _parse_payload(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _own_failure(progress: _Progress, exc: Exception) -> Response:
    """hookrun itself failed: fail open, or closed when a hook that did not run says so."""
    what = f"hookrun: {progress.stage} failed ({type(exc).__name__}: {str(exc)[:200]})"
    if progress.fails_closed():
        line = f"{what}; blocking because a hook for {progress.event} has on_error = \"block\""
        return _blocked(progress.event, line)
    return _notice(f"{what}; no hook answer counted (failing open)").response


def _project_dir(invocation: Invocation, payload: Mapping[str, Any]) -> str:
    project = invocation.environ.get("CLAUDE_PROJECT_DIR") or payload.get("cwd")
    return project if isinstance(project, str) and project else invocation.cwd


def _notice(line: str) -> Outcome:
    return Outcome(Response(stdout=json.dumps({"systemMessage": line}), stderr=line + "\n"), [])


def _broken_config(event: str, path: str, exc: ConfigError) -> Response:
    """A config that cannot be used fails open, or closed if its defaults say on_error=block."""
    fix = "run `hookrun validate` to see every problem"
    if fails_closed(event, configuration.fallback_on_error(path)):
        return _blocked(event, f"hookrun: {exc}; blocking because [defaults] on_error = "
                               f"\"block\"; {fix}")
    return _notice(f"hookrun: {exc}; no hook ran (failing open); {fix}").response


def _blocked(event: str, line: str) -> Response:
    """A block of hookrun's own, in the event's form, with ``line`` once on stderr."""
    blocked = HookResult(position=0, name="hookrun", status=BLOCKED, reason=line)
    response = merge(event, [blocked], on_error={})
    stderr = response.stderr if response.exit_code == 2 else line + "\n" + response.stderr
    return Response(stdout=response.stdout, stderr=stderr, exit_code=response.exit_code,
                    outcome="block")


def _environ(invocation: Invocation, project: str, event: str,
             payload: Mapping[str, Any]) -> dict[str, str]:
    """A command hook's environment: Claude Code's, or a kept one set up for this event."""
    environ = {"CLAUDE_PROJECT_DIR": project, **invocation.environ}
    return hookenv.for_event(environ, event, payload) if invocation.kept_environ else environ


def _run_hooks(event: str, hooks: list[HookSpec], invocation: Invocation, project: str,
               environ: dict[str, str], runner: Runner | None) -> list[HookResult]:
    clock = monotonic_clock()
    _import_before_project(hooks)
    if any(h.call for h in hooks) and project not in sys.path:
        sys.path.insert(0, project)
    on_error = {h.name: h.on_error for h in hooks}
    stops = rules(event).block_stops
    graph = functools.partial(run_graph, hooks, invocation.raw, clock=clock,
                              within=invocation.within,
                              blocks=lambda r: stops and blocks(event, r, on_error[r.name]))
    if runner is not None:
        return graph(runner=runner)
    threads = ThreadRunner(cwd=invocation.cwd, environ=environ, clock=clock,
                           warm=invocation.warm, threads=invocation.threads)
    try:
        return graph(runner=threads)
    finally:
        threads.close()


def _import_before_project(hooks: list[HookSpec]) -> None:
    """Load what command hooks need while the project is not yet on ``sys.path``.

    Call hooks import from the project directory, so from then on its ``signal.py`` or
    ``selectors.py`` would shadow the standard library for hookrun's own late imports.
    """
    if any(h.command for h in hooks):
        # subprocess, signal, selectors: before a project module can stand in for them
        import hookswarm.lib.process  # noqa: F401


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
