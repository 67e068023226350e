"""Enabling the agent guard tells the model the spawning protocol, through the real CLI."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from hookswarm.hooks import spawn_protocol
from tests.fakes.messages_api import MessagesAPI, Script, reply, system_texts
from tests.helpers.claude_cli import run_claude
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)

PROMPT = "spawn some research agents"


def toml_entry(entry: dict[str, str]) -> str:
    return "[[hooks]]\n" + "".join(f'{key} = "{value}"\n' for key, value in entry.items())


def test_the_models_first_request_carries_the_protocol(claude_project: Path) -> None:
    (claude_project / ".claude" / "hookrun.toml").write_text(
        toml_entry(spawn_protocol.HOOKRUN_ENTRY))
    env = {**os.environ, "HOME": str(claude_project.parent)}
    installed = subprocess.run([HOOKRUN, "install"], cwd=claude_project, env=env,
                               capture_output=True, text=True, timeout=60)
    assert installed.returncode == 0, installed.stderr
    with MessagesAPI(Script({PROMPT: [reply("ok")]})) as api:
        run = run_claude(claude_project, PROMPT, api=api)
        first = api.conversation(PROMPT)[0]
    assert run.exit_code == 0, run.describe()
    delivered = [text for text in system_texts(first) if spawn_protocol.TITLE in text]
    assert delivered, system_texts(first)
    assert all(line in delivered[0] for line in spawn_protocol.RULES.splitlines())
