"""Claude Code's hook events and what each one does with a hook's answer: one table.

Config, matcher, merge, scheduling, protocol, validate and settings all read it, so a rule
changes in one place. Sources: claude-code-hooks.md (2.1.328), checked on the real CLI where
it says so there. Standard library only: ``hookrun run`` reads it on every event.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class EventRules(NamedTuple):
    """What Claude Code does with one event's hooks."""

    name: str
    matches_on: str | None = None  # the payload field a matcher is tested against
    can_block: bool = True  # exit 2 / a block answer has an effect (else: shown to the user)
    block_stops: bool = False  # a block stops the action before it happens
    takes_context: bool = False  # hookSpecificOutput.additionalContext reaches the model
    plain_text_context: bool = False  # plain stdout on exit 0 reaches the model
    decision_block: bool = False  # takes {"decision": "block", "reason": ...}
    on_failure_ignored: bool = False  # onFailure: "block" has no effect
    tool_event: bool = False  # about one tool call (tool_name, tool_input)
    http_entry: bool = True  # a type "http" entry can carry every answer (hookrun serve)
    missing_file_passes: bool = False  # exit 2 whose stderr says "no such file" does not block


def _row(name: str, matches_on: str | None = None, flags: str = "") -> EventRules:
    """One row; ``flags`` are words: stops, noblock, context, plain, decision, nofail, tool,
    nohttp (Claude Code sends it no http hook, or only exit 2 / plain stdout can answer),
    nofile (a missing script's exit 2, "No such file" on stderr, is no block: checked on Stop)."""
    words = set(flags.split())
    unknown = words - {"stops", "noblock", "context", "plain", "decision", "nofail", "tool",
                       "nohttp", "nofile"}
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)} for {name}")
    return EventRules(name, matches_on, can_block="noblock" not in words,
                      block_stops="stops" in words, takes_context="context" in words,
                      plain_text_context="plain" in words, decision_block="decision" in words,
                      on_failure_ignored="nofail" in words, tool_event="tool" in words,
                      http_entry="nohttp" not in words, missing_file_passes="nofile" in words)


# In Claude Code's own order (the binary's event list).
TABLE: tuple[EventRules, ...] = (
    _row("PreToolUse", "tool_name", "stops context tool"),
    _row("PostToolUse", "tool_name", "context decision tool"),
    _row("PostToolUseFailure", "tool_name", "context decision tool"),
    _row("PostToolBatch", None, "context decision"),
    _row("Notification", "notification_type", "noblock context"),
    _row("UserPromptSubmit", None, "stops context plain decision"),
    _row("UserPromptExpansion", None, "stops context nohttp"),
    _row("SessionStart", "source", "noblock context plain nohttp"),
    _row("SessionEnd", "reason", "noblock"),
    _row("Stop", None, "context decision nofail nofile"),
    _row("StopFailure", "error", "noblock"),
    _row("SubagentStart", "agent_type", "noblock context"),
    _row("SubagentStop", "agent_type", "context decision nofail"),
    _row("PreCompact", "trigger", "stops nohttp"),
    _row("PostCompact", "trigger", "noblock"),
    _row("PreModelSwitch", None, "nohttp"),
    _row("PostModelSwitch", None, "noblock context"),
    _row("PermissionRequest", "tool_name", "stops tool"),
    _row("PermissionDenied", "tool_name", "noblock tool"),
    _row("Setup", "trigger", "noblock context"),
    _row("TeammateIdle", None, "nofail nohttp"),
    _row("TaskCreated", None, "nohttp"),
    _row("TaskCompleted", None, "nofail nohttp"),
    _row("Elicitation", None, "nohttp"),
    _row("ElicitationResult", None, "nohttp"),
    _row("ConfigChange", "source", "stops nohttp"),
    _row("WorktreeCreate", None, "nohttp"),
    _row("WorktreeRemove", None, "noblock"),
    _row("InstructionsLoaded", "load_reason", "noblock"),
    _row("CwdChanged", None, "noblock"),
    _row("FileChanged", None, "noblock"),
    _row("DirectoryAdded", None, "noblock"),
    _row("MessageDisplay", None, "noblock"),
)
RULES = {rules.name: rules for rules in TABLE}
NAMES = tuple(RULES)


def rules(event: str) -> EventRules:
    """The rules for ``event``; an event this table does not know yet gets the defaults."""
    return RULES.get(event) or EventRules(event)


def where(flag: str) -> frozenset[str]:
    """The names of the events whose rule ``flag`` (a field of EventRules) is true."""
    return frozenset(r.name for r in TABLE if getattr(r, flag))


_PLAIN_MATCHER = re.compile(r"^[A-Za-z0-9_|, ]+$")


def matches_everything(matcher: str) -> bool:
    """An empty matcher and ``*`` fire for every tool (or source, trigger, ...)."""
    return matcher.strip() in ("", "*")


def plain_names(matcher: str) -> tuple[str, ...] | None:
    """The names a plain matcher lists (``Edit|Write``, ``Bash, Read``); None for a regex.

    Claude Code compares a matcher made only of letters, digits, ``_``, ``|``, ``,`` and
    spaces with the name exactly; anything else is a regular expression searched in it.
    """
    if not _PLAIN_MATCHER.match(matcher):
        return None
    return tuple(dict.fromkeys(p.strip() for p in re.split(r"[|,]", matcher) if p.strip()))
