"""Built-in guards that one install flag turns on: each name maps to its hookrun.toml entries.

``hookrun install --agent-guard`` appends the guard's ``[[hooks]]`` tables to hookrun.toml
between two comment lines that name it, and uninstall removes what lies between them; a table
someone wrote by hand is never touched. Pure text in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookswarm.hooks.evidence_guard import HOOKRUN_ENTRIES
from hookswarm.settings.migration import toml_string

if TYPE_CHECKING:
    from collections.abc import Mapping

MODES = ("block", "warn", "off")


@dataclass(frozen=True, slots=True)
class GuardHook:
    """One hookrun.toml entry of a guard; ``moded`` entries take ``options = { mode = ... }``."""

    name: str
    event: str
    call: str
    matcher: str = ""
    moded: bool = False


@dataclass(frozen=True, slots=True)
class Guard:
    help: str
    hooks: tuple[GuardHook, ...]


_AGENT_GUARD = "hookswarm.hooks.agent_guard:check"
GUARDS: Mapping[str, Guard] = {
    "agent-guard": Guard(
        "The agent guard: deny one-at-a-time sub-agent spawning (PreToolUse on Agent|Task, "
        "with PostToolBatch and UserPromptSubmit marking message and turn boundaries, and "
        "SessionStart telling the model the spawning protocol).",
        (GuardHook("agent-guard", "PreToolUse", _AGENT_GUARD, "Agent|Task", moded=True),
         GuardHook("agent-guard-batch", "PostToolBatch", _AGENT_GUARD),
         GuardHook("agent-guard-turn", "UserPromptSubmit", _AGENT_GUARD),
         GuardHook("agent-guard-protocol", "SessionStart",
                   "hookswarm.hooks.spawn_protocol:context", moded=True))),
    "evidence-guard": Guard(
        "The evidence guard: a sub-agent whose prompt declares [expects: paths] may not stop "
        "until those files exist, are not empty and changed (SubagentStop; TaskCompleted for "
        "agent teams); the parent is told verified or unverified.",
        tuple(GuardHook(entry["name"], entry["event"], entry["call"], entry.get("matcher", ""),
                        moded="options" in entry) for entry in HOOKRUN_ENTRIES)),
}


def begin(name: str) -> str:
    return f"# hookrun install --{name}: begin (hookrun uninstall removes this block)"


def end(name: str) -> str:
    return f"# hookrun install --{name}: end"


def block(name: str, mode: str) -> str:
    """The guard's tables, between its begin and end lines."""
    lines = [begin(name)]
    for hook in GUARDS[name].hooks:
        lines += ["[[hooks]]", f"name = {toml_string(hook.name)}",
                  f"event = {toml_string(hook.event)}"]
        if hook.matcher:
            lines.append(f"matcher = {toml_string(hook.matcher)}")
        lines.append(f"call = {toml_string(hook.call)}")
        if hook.moded:
            lines.append(f"options = {{ mode = {toml_string(mode)} }}")
        lines.append("")
    return "\n".join([*lines[:-1], end(name)]) + "\n"


def add(text: str, name: str, mode: str) -> str:
    """hookrun.toml with the guard's block in ``mode``: replaced where it is, else appended."""
    found = _span(text, name)
    if found is not None:
        return text[:found[0]] + block(name, mode) + text[found[1]:]
    lead = "" if not text else "\n" if text.endswith("\n") else "\n\n"
    return text + lead + block(name, mode)


def remove(text: str, name: str) -> str:
    """hookrun.toml without the guard's block (and the blank line set before it)."""
    found = _span(text, name)
    if found is None:
        return text
    start, stop = found
    if text[:start].endswith("\n\n"):
        start -= 1
    return text[:start] + text[stop:]


def installed(text: str) -> tuple[str, ...]:
    """The guards whose blocks are in the text."""
    return tuple(name for name in GUARDS if _span(text, name) is not None)


def _span(text: str, name: str) -> tuple[int, int] | None:
    """Where the guard's block starts and ends (after its end line's newline)."""
    pattern = re.compile(f"^{re.escape(begin(name))}\n.*?^{re.escape(end(name))}(?:\n|$)",
                         re.MULTILINE | re.DOTALL)
    match = pattern.search(text)
    return (match.start(), match.end()) if match else None
