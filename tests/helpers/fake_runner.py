"""A runner for the graph engine whose outcome is written in each hook's command text.

``hookrun run`` with this runner exercises the real config, matcher, engine, shell and merge,
in-process and without child processes. The command text says what the hook does:

- ``ok``: exit 0, no output;  ``say TEXT``: prints TEXT;  ``json {...}``: prints that JSON
- ``exit N TEXT``: exits N with TEXT on stderr
- ``deny REASON``: a PreToolUse deny;  ``block REASON``: ``decision: block``
- ``upstream``: prints the ``hookrun.upstream`` statuses it was given, as JSON context
- ``input``: prints, as context, the ``tool_input.command`` it was given
- ``hang``: never ends by itself; a cancel reports ``cancelled``, a kill ``timeout``
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from hookswarm.executor.results import HookResult
from hookswarm.lib.process import ProcessOutcome

if TYPE_CHECKING:
    from hookswarm.executor.graph import Report
    from hookswarm.lib.hookconfig import HookSpec


class FakeRunner:
    """Answers each hook from its command text; ``started`` lists the starts in order."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.killed: list[str] = []
        self._hanging: dict[str, tuple[HookSpec, Report]] = {}
        self._lock = threading.Lock()

    def start(self, hook: HookSpec, request: dict[str, Any] | bytes, report: Report) -> None:
        self.started.append(hook.name)
        if hook.command == "hang":
            with self._lock:
                self._hanging[hook.name] = (hook, report)
            return
        payload = request if isinstance(request, dict) else json.loads(request)
        report(HookResult.from_process(hook, outcome(hook.command, payload)), 0.0, 0.0)

    def cancel(self, name: str) -> None:
        self.cancelled.append(name)
        self._end(name, ProcessOutcome(exit_code=None, stdout=b"", stderr=b"", cancelled=True))

    def kill(self, name: str) -> None:
        self.killed.append(name)
        self._end(name, ProcessOutcome(exit_code=None, stdout=b"", stderr=b"", timed_out=True))

    def _end(self, name: str, ended: ProcessOutcome) -> None:
        with self._lock:
            hook, report = self._hanging.pop(name)
        report(HookResult.from_process(hook, ended), 0.0, 0.0)


def outcome(command: str, payload: dict[str, Any]) -> ProcessOutcome:
    verb, _, rest = command.partition(" ")
    event = payload.get("hook_event_name", "")
    if verb == "exit":
        code, _, text = rest.partition(" ")
        return ProcessOutcome(exit_code=int(code), stdout=b"", stderr=text.encode())
    answers: dict[str, Any] = {
        "ok": "",
        "say": rest,
        "json": rest,
        "deny": {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                        "permissionDecision": "deny",
                                        "permissionDecisionReason": rest}},
        "block": {"decision": "block", "reason": rest},
        "upstream": _context(event, json.dumps(
            {name: up["status"] for name, up in payload.get("hookrun", {}).get(
                "upstream", {}).items()}, sort_keys=True)),
        "input": _context(event, str(payload.get("tool_input", {}).get("command"))),
    }
    answer = answers[verb]
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return ProcessOutcome(exit_code=0, stdout=text.encode(), stderr=b"")


def _context(event: str, text: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}
