"""What a hook may answer, for hooks written as Python callables.

A ``call`` hook receives the event payload as a dict and returns what a command hook would
print: ``None`` (nothing), a string (plain stdout) or a dict (the JSON object). Raising
:class:`Block` is the in-process form of "exit 2 with this text on stderr".
"""

from __future__ import annotations

from typing import Any

TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest",
                         "PermissionDenied"})
AGENT_TOOL_NAMES = frozenset({"Agent", "Task"})


class Block(Exception):
    """Raised by a ``call`` hook to block, exactly like a command hook's exit code 2."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def context(event: str, text: str) -> dict[str, Any]:
    """An answer that adds ``text`` to what the model sees."""
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def deny(reason: str) -> dict[str, Any]:
    """A PreToolUse answer that blocks the tool call and tells the model why."""
    return _decision("deny", reason)


def ask(reason: str) -> dict[str, Any]:
    """A PreToolUse answer that asks the user (denied in ``claude -p``)."""
    return _decision("ask", reason)


def allow(reason: str = "") -> dict[str, Any]:
    """A PreToolUse answer that skips the permission check."""
    return _decision("allow", reason)


def block(reason: str) -> dict[str, Any]:
    """A ``decision: block`` answer (UserPromptSubmit, PostToolUse, Stop, SubagentStop)."""
    return {"decision": "block", "reason": reason}


def _decision(decision: str, reason: str) -> dict[str, Any]:
    output: dict[str, Any] = {"hookEventName": "PreToolUse", "permissionDecision": decision}
    if reason:
        output["permissionDecisionReason"] = reason
    return {"hookSpecificOutput": output}
