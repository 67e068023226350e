"""Hook payloads as Claude Code sends them, trimmed to what tests need."""

from __future__ import annotations

from typing import Any


def prompt(text: str = "hello") -> dict[str, Any]:
    return {"hook_event_name": "UserPromptSubmit", "prompt": text, "session_id": "s-test"}


def bash(command: str = "ls") -> dict[str, Any]:
    return {"hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": command}, "session_id": "s-test"}
