"""What a hook may answer, for hooks written as Python callables.

A ``call`` hook receives the event payload as a dict and returns what a command hook would
print: ``None`` (nothing), a string (plain stdout) or a dict (the JSON object). Raising
:class:`Block` is the in-process form of "exit 2 with this text on stderr". Typed models of
the payload are in :mod:`hookswarm.lib.payloads`; this module stays free of them because
hookrun imports it on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hookswarm.lib.events import where

if TYPE_CHECKING:
    from collections.abc import Mapping

TOOL_EVENTS = where("tool_event")
AGENT_TOOL_NAMES = frozenset({"Agent", "Task"})
# Claude Code writes an additionalContext longer than this (characters) to a file and shows the
# model a 2 KB preview (checked on the 2.1.328 CLI, per hook entry).
CLAUDE_CODE_CUT = 10_000
# The events whose hookSpecificOutput takes additionalContext (Claude Code 2.1.328's schema).
CONTEXT_EVENTS = where("takes_context")
# Claude Code ignores onFailure on these events (claude-code-hooks.md §2.1): a hook that fails
# there never blocks, so ending a turn cannot hinge on a broken hook.
ON_FAILURE_IGNORED = where("on_failure_ignored")


class Block(Exception):
    """Raised by a ``call`` hook to block, exactly like a command hook's exit code 2."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def context(event: str, text: str) -> dict[str, Any]:
    """An answer that adds ``text`` to what the model sees; ``event`` is the payload's event.

    Raises ValueError for an event that takes no ``additionalContext`` (see CONTEXT_EVENTS).
    """
    if event not in CONTEXT_EVENTS:
        raise ValueError(f"{event} answers cannot add context; Claude Code takes "
                         f"additionalContext on {', '.join(sorted(CONTEXT_EVENTS))}")
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def deny(reason: str) -> dict[str, Any]:
    """A PreToolUse answer that blocks the tool call and tells the model why."""
    return _decision("deny", reason)


def ask(reason: str) -> dict[str, Any]:
    """A PreToolUse answer that asks the user (denied in ``claude -p``)."""
    return _decision("ask", reason)


def allow(reason: str = "", *, updated_input: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A PreToolUse answer that skips the permission check, optionally rewriting the call.

    ``updated_input`` replaces the tool's whole input (Claude Code does not merge it), so pass
    the complete input: ``{**payload["tool_input"], "run_in_background": False}``.
    """
    answer = _decision("allow", reason)
    if updated_input is not None:
        answer["hookSpecificOutput"]["updatedInput"] = dict(updated_input)
    return answer


def block(reason: str) -> dict[str, Any]:
    """A ``decision: block`` answer (UserPromptSubmit, PostToolUse, Stop, SubagentStop)."""
    return {"decision": "block", "reason": reason}


def stop(reason: str) -> dict[str, Any]:
    """An answer that ends the agent loop once the current step is done (``continue: false``).

    The current step still happens: on PreToolUse the tool runs anyway; use :func:`deny` to
    block it. ``reason`` tells the user why; ``claude -p`` ends with ``terminal_reason:
    "hook_stopped"``.
    """
    return {"continue": False, "stopReason": reason}


def _decision(decision: str, reason: str) -> dict[str, Any]:
    output: dict[str, Any] = {"hookEventName": "PreToolUse", "permissionDecision": decision}
    if reason:
        output["permissionDecisionReason"] = reason
    return {"hookSpecificOutput": output}
