"""Claude Code's matcher semantics (claude-code-hooks.md §4.2) as a table."""

from __future__ import annotations

import pytest

from hookswarm.lib.matcher import matches


@pytest.mark.parametrize(("matcher", "tool", "expected"), [
    ("Bash", "Bash", True),
    ("bash", "Bash", False),
    ("Ba", "Bash", False),
    ("Bas.*", "Bash", True),
    ("^Bash$", "Bash", True),
    ("B.sh", "Bash", True),
    (".*", "Agent", True),
    ("Bash|Agent", "Agent", True),
    ("Bash | Agent", "Agent", True),
    ("Bash,Agent", "Bash", True),
    ("*", "Edit", True),
    ("", "Edit", True),
    ("Task", "Agent", True),
    ("Agent", "Task", True),
    ("Agent|Task", "Task", True),
    ("Bash(echo *)", "Bash", False),
    ("mcp__.*", "mcp__srv__tool", True),
    ("mcp__.*", "Bash", False),
    ("Edit|Write", "Bash", False),
    ("[unclosed", "Bash", False),
])
def test_tool_matchers(matcher: str, tool: str, expected: bool) -> None:
    assert matches(matcher, "PreToolUse", {"tool_name": tool}) is expected


@pytest.mark.parametrize(("event", "payload", "matcher", "expected"), [
    ("SessionStart", {"source": "startup"}, "startup", True),
    ("SessionStart", {"source": "resume"}, "startup", False),
    ("SessionEnd", {"reason": "other"}, "other|clear", True),
    ("SubagentStop", {"agent_type": "general-purpose"}, "general-purpose", True),
    ("UserPromptSubmit", {"prompt": "x"}, "anything", True),
    ("Stop", {}, "Bash", True),
])
def test_other_events_match_their_own_field_or_ignore_matchers(
        event: str, payload: dict[str, str], matcher: str, expected: bool) -> None:
    assert matches(matcher, event, payload) is expected
