"""The ownership guard's settings layer through the real CLI: a guard that crashes still blocks."""

from __future__ import annotations

import json
import shlex
import sys
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.claude import guard_settings
from hookswarm.lib.swarm.task import build_tasks
from tests.fakes.messages_api import MessagesAPI, reply, tool_results, tool_use
from tests.helpers.claude_cli import run_claude

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)

CRASH = shlex.join([sys.executable, "-c", "raise RuntimeError('the guard crashed')"])


def test_a_crashing_guard_blocks_a_write_the_task_owns(claude_project: Path,
                                                       messages_api: MessagesAPI) -> None:
    target = claude_project / "mine.py"
    [task] = build_tasks([{"prompt": "write it", "owns": ["mine.py"]}], base=str(claude_project))
    settings = guard_settings(task)
    [group] = settings["hooks"]["PreToolUse"]
    [handler] = group["hooks"]
    assert handler["onFailure"] == "block"
    handler["command"] = CRASH
    messages_api.script = {"write it": [
        reply(tool_use("Write", {"file_path": str(target), "content": "x = 1\n"})),
        reply("done"),
    ]}
    run = run_claude(claude_project, "write it", api=messages_api,
                     extra_args=["--allowedTools", "Write",
                                 "--settings", json.dumps(settings)])
    assert run.result["is_error"] is False, run.describe()
    assert not target.exists()
    [second] = messages_api.conversation("write it")[1:]
    [denied] = tool_results(second)
    assert denied.is_error
    assert 'blocking because onFailure is "block"' in denied.content
