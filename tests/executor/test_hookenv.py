"""The variables Claude Code sets per event, rebuilt on an environment ``hookrun serve`` kept."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.executor.hookenv import for_event
from hookswarm.executor.run import Invocation, execute

if TYPE_CHECKING:
    from tests.helpers.project import Project

KEPT = {"PATH": "/bin", "CLAUDE_ENV_FILE": "/s/env.sh", "CLAUDE_EFFORT": "high",
        "CLAUDE_CODE_MESSAGING_SOCKET": "/s.sock", "CLAUDE_CODE_MESSAGING_TOKEN": "t"}
EFFORT = {"effort": {"level": "medium"}}


@pytest.mark.parametrize(("event", "payload", "expected"), [
    ("SessionStart", {}, {"PATH": "/bin", "CLAUDE_ENV_FILE": "/s/env.sh",
                          "CLAUDE_CODE_MESSAGING_SOCKET": "/s.sock",
                          "CLAUDE_CODE_MESSAGING_TOKEN": "t"}),
    ("UserPromptSubmit", {}, {"PATH": "/bin", "CLAUDE_CODE_MESSAGING_SOCKET": "/s.sock",
                              "CLAUDE_CODE_MESSAGING_TOKEN": "t"}),
    ("PreToolUse", EFFORT, {"PATH": "/bin", "CLAUDE_EFFORT": "medium",
                            "CLAUDE_CODE_MESSAGING_SOCKET": "/s.sock",
                            "CLAUDE_CODE_MESSAGING_TOKEN": "t"}),
    ("Stop", {"effort": "medium"}, {"PATH": "/bin", "CLAUDE_CODE_MESSAGING_SOCKET": "/s.sock",
                                    "CLAUDE_CODE_MESSAGING_TOKEN": "t"}),
    ("SessionEnd", EFFORT, {"PATH": "/bin", "CLAUDE_EFFORT": "medium"}),
])
def test_per_event_variables_follow_the_event(event: str, payload: dict[str, Any],
                                              expected: dict[str, str]) -> None:
    assert for_event(KEPT, event, payload) == expected


def test_hooks_under_a_kept_environment_see_this_events_variables(project: Project) -> None:
    """As Claude Code runs them: no SessionStart env file on a tool event, this call's effort."""
    project.config("""
        [[hooks]]
        name = "env"
        event = "PreToolUse"
        command = "echo \\"file=${CLAUDE_ENV_FILE:-none} effort=${CLAUDE_EFFORT:-none}\\" >&2"
    """)
    payload = {"hook_event_name": "PreToolUse", "tool_name": "Bash",
               "tool_input": {"command": "ls"}, **EFFORT}

    def seen(*, kept: bool) -> str:
        invocation = Invocation(raw=json.dumps(payload).encode(), event=None, config_path=None,
                                environ={**os.environ, **KEPT,
                                         "CLAUDE_PROJECT_DIR": str(project.root)},
                                cwd=str(project.root), record=False, kept_environ=kept)
        return execute(invocation).results[0].stderr

    assert seen(kept=True) == "file=none effort=medium\n"
    assert seen(kept=False) == "file=/s/env.sh effort=high\n"  # Claude Code's own, untouched
