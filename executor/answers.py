"""The shape Claude Code accepts for a hook's JSON answer. Pure: no I/O.

Claude Code validates a hook's JSON against its schema and drops an answer that fails it
("Hook JSON output validation failed", checked on the CLI), while the other hooks' answers
stand. hookrun reads such an answer as that hook's ``garbled`` failure. The types follow the
schema the 2.1.328 CLI prints with that message; keys it does not list are passed through.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

_COMMON: dict[str, type | tuple[str, ...]] = {
    "continue": bool, "suppressOutput": bool, "stopReason": str, "decision": ("approve", "block"),
    "reason": str, "systemMessage": str, "terminalSequence": str, "hookSpecificOutput": dict,
}
_SPECIFIC: dict[str, type | tuple[str, ...]] = {
    "hookEventName": str, "additionalContext": str,
    "permissionDecision": ("allow", "deny", "ask", "defer"), "permissionDecisionReason": str,
    "updatedInput": dict, "sessionTitle": str, "suppressOriginalPrompt": bool,
    "initialUserMessage": str, "watchPaths": list, "reloadSkills": bool, "retry": bool,
    "worktreePath": str,
}
_REQUEST_DECISION: dict[str, type | tuple[str, ...]] = {
    "behavior": ("allow", "deny"), "updatedInput": dict, "updatedPermissions": list,
    "message": str, "interrupt": bool,
}
_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "true or false",
               int: "a number", float: "a number", type(None): "null"}


def loads(text: str) -> Any:
    """Strict JSON: ``NaN`` and ``Infinity``, which Claude Code rejects, raise ValueError."""
    return json.loads(text, parse_constant=_reject_constant)


def problem(answer: Mapping[str, Any], event: str = "") -> str:
    """What makes ``answer`` an answer Claude Code rejects for ``event``, or "" when it is well
    formed (any event's name passes when ``event`` is "")."""
    found = _mismatch(answer, _COMMON, "")
    specific = answer.get("hookSpecificOutput")
    if not found and isinstance(specific, dict):
        found = _mismatch(specific, _SPECIFIC, "hookSpecificOutput.")
        decision = specific.get("decision")
        if not found and "decision" in specific:
            found = (_mismatch(decision, _REQUEST_DECISION, "hookSpecificOutput.decision.")
                     if isinstance(decision, dict)
                     else _wrong("hookSpecificOutput.decision", decision, dict))
        found = found or _event_name(specific, event)
    return found


def _event_name(specific: Mapping[str, Any], event: str) -> str:
    """Claude Code drops a hookSpecificOutput without hookEventName, or naming another event."""
    name = specific.get("hookEventName")
    if name is None:
        return "hookSpecificOutput has no hookEventName"
    if event and name != event:
        return f"hookSpecificOutput.hookEventName is {_shown(name)} in a {event} hook"
    return ""


def _mismatch(table: Mapping[str, Any], types: Mapping[str, type | tuple[str, ...]],
              prefix: str) -> str:
    for key, expected in types.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(expected, tuple):
            if value not in expected:
                return (f"{prefix}{key} is {_shown(value)}; Claude Code expects one of "
                        f"{', '.join(expected)}")
        elif type(value) is not expected:
            return _wrong(prefix + key, value, expected)
    return ""


def _wrong(key: str, value: Any, expected: type) -> str:
    return f"{key} is {_JSON_NAMES.get(type(value), 'a value')}, not {_JSON_NAMES[expected]}"


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else _JSON_NAMES.get(type(value), "?")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
