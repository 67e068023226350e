"""The spawning protocol's SessionStart hook: its text, its off switch, its hookrun entry."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from hookswarm.hooks import spawn_protocol
from hookswarm.lib import hookconfig as configuration
from tests.helpers.claude_cli import REPO_ROOT

if TYPE_CHECKING:
    import pytest

PAYLOAD = {"hook_event_name": "SessionStart", "source": "startup", "session_id": "s"}


def test_the_hook_gives_the_whole_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKSWARM_AGENT_GUARD", raising=False)
    text = spawn_protocol.context(dict(PAYLOAD))
    assert text is not None
    assert text.startswith(spawn_protocol.TITLE)
    assert "[depends-on: <what it needs>]" in text
    assert "ONE message" in text


def test_with_the_guard_off_it_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert spawn_protocol.context(dict(PAYLOAD), mode="off") is None
    monkeypatch.setenv("HOOKSWARM_AGENT_GUARD", "off")
    assert spawn_protocol.context(dict(PAYLOAD)) is None
    assert spawn_protocol.context(dict(PAYLOAD), mode="warn") == spawn_protocol.PROTOCOL


def test_the_repositorys_claude_md_quotes_the_one_copy_verbatim() -> None:
    assert spawn_protocol.RULES in (REPO_ROOT / ".claude" / "CLAUDE.md").read_text()


def test_the_hookrun_entry_is_a_valid_session_start_call_hook() -> None:
    config = configuration.parse({"hooks": [spawn_protocol.HOOKRUN_ENTRY]}, "hookrun.toml")
    (hook,) = config.hooks
    assert (hook.event, hook.kind, hook.matcher) == ("SessionStart", "call", "")
    module, _, name = hook.call.partition(":")
    assert (module, getattr(spawn_protocol, name)) == (spawn_protocol.__name__,
                                                       spawn_protocol.context)


def test_as_a_command_hook_it_prints_the_protocol() -> None:
    env = {k: v for k, v in os.environ.items() if k != "HOOKSWARM_AGENT_GUARD"}
    done = subprocess.run([sys.executable, "-m", "hookswarm.hooks.spawn_protocol"], env=env,
                          input="{}", capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, spawn_protocol.PROTOCOL, "")
