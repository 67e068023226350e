"""The evidence guard under the real Claude Code CLI, with a scripted model and real sub-agents.

Sub-agents run in the background (the default), so the parent hears about them through the
``<task-notification>`` turn: UserPromptSubmit fires for it and the guard's note rides along as
context in the parent's next request.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.hooks.evidence_guard import HOOKRUN_ENTRIES
from tests.fakes.messages_api import (
    MessagesAPI,
    Reply,
    reply,
    system_texts,
    task_notifications,
    tool_use,
)
from tests.helpers.claude_cli import ClaudeRun, run_claude, write_settings
from tests.helpers.hookrun_toml import hookrun_toml
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)

GUARD = f"{sys.executable} -m hookswarm.hooks.evidence_guard"
EVENTS = ("SubagentStop", "UserPromptSubmit", "PostToolBatch")
TOOLS = ("--allowedTools", "Agent Write")
PROMPT = "build the calculator"
CALC = "[expects: calc.py] agent calc"
SAYS = "hookswarm evidence guard:"


def guard_settings(command: str) -> dict[str, Any]:
    handler = [{"type": "command", "command": command, "timeout": 10}]
    return {"hooks": {"PreToolUse": [{"matcher": "Agent|Task", "hooks": handler}],
                      **{event: [{"hooks": handler}] for event in EVENTS}}}


def use_guard(project: Path, wiring: str) -> None:
    if wiring == "hookrun":
        (project / ".claude" / "hookrun.toml").write_text(hookrun_toml(HOOKRUN_ENTRIES))
        write_settings(project, guard_settings(f"{HOOKRUN} run"))
    else:
        write_settings(project, guard_settings(GUARD))


def agent(prompt: str, description: str = "write calc", **extra: Any) -> Any:
    return tool_use("Agent", {"description": description, "prompt": prompt, **extra})


def writes(project: Path, name: str) -> Reply:
    return reply(tool_use("Write", {"file_path": str(project / name),
                                    "content": "def add(a, b):\n    return a + b\n"}))


def play(api: MessagesAPI, project: Path, script: Mapping[str, Sequence[Reply]],
         env: Mapping[str, str] | None = None) -> ClaudeRun:
    api.script = script
    run = run_claude(project, PROMPT, api=api, extra_args=TOOLS, env=env, timeout=90)
    assert run.exit_code == 0, run.describe()
    return run


def told(api: MessagesAPI, conversation: str) -> list[str]:
    """What the guard said in the conversation (its last request holds the whole history)."""
    requests = api.conversation(conversation)
    assert requests, f"no conversation {conversation!r}"
    return [text for text in system_texts(requests[-1]) if SAYS in text]


def said_in(api: MessagesAPI, conversation: str, turn: int) -> str:
    """The guard's words in request ``turn`` of the conversation, joined."""
    request = api.conversation(conversation)[turn]
    return "\n".join(text for text in system_texts(request) if SAYS in text)


@pytest.mark.parametrize("wiring", ["command", "hookrun"])
def test_a_claim_without_the_file_is_blocked_then_written_then_verified(
        messages_api: MessagesAPI, claude_project: Path, wiring: str) -> None:
    use_guard(claude_project, wiring)
    script = {PROMPT: [reply("starting", agent(CALC)), reply("calc is running")],
              CALC: [reply("done, calc.py written"), writes(claude_project, "calc.py"),
                     reply("done now")]}

    play(messages_api, claude_project, script)

    assert "calc.py (missing)" in said_in(messages_api, CALC, 1)
    assert len(messages_api.conversation(CALC)) == 3
    assert (claude_project / "calc.py").stat().st_size > 0
    notes = told(messages_api, PROMPT)
    assert len(notes) == 1, notes
    assert "'write calc' verified: 1/1 files (calc.py)" in notes[0]


@pytest.mark.parametrize("wiring", ["command", "hookrun"])
def test_an_agent_that_never_writes_stops_after_two_blocks_and_the_parent_is_told(
        messages_api: MessagesAPI, claude_project: Path, wiring: str) -> None:
    use_guard(claude_project, wiring)
    script = {PROMPT: [reply("starting", agent(CALC)), reply("calc is running")],
              CALC: [reply("done"), reply("done, calc.py is written"),
                     reply("all done, calc.py exists")]}

    play(messages_api, claude_project, script)

    assert len(messages_api.conversation(CALC)) == 3
    assert "1 more blocked stop(s)" in said_in(messages_api, CALC, 1)
    assert "this is the last block" in said_in(messages_api, CALC, 2)
    notes = told(messages_api, PROMPT)
    assert len(notes) == 1, notes
    assert "unverified: calc.py (missing)" in notes[0]
    assert '"all done, calc.py exists"' in notes[0]
    assert not (claude_project / "calc.py").exists()


def test_a_foreground_agents_parent_hears_it_with_the_agents_result(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    script = {PROMPT: [reply(agent(CALC, run_in_background=False)), reply("calc is done")],
              CALC: [writes(claude_project, "calc.py"), reply("done")]}

    play(messages_api, claude_project, script)

    assert told(messages_api, CALC) == []
    [note] = [text for text in system_texts(messages_api.conversation(PROMPT)[1])
              if SAYS in text]
    assert note.startswith("PostToolBatch hook additional context: ")
    assert "'write calc' verified: 1/1 files (calc.py)" in note


def test_parallel_agents_are_judged_apart_and_a_siblings_earlier_write_does_not_count(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    prep, first, second = "agent prep", "[expects: a.py] agent a", "[expects: b.py] agent b"
    script = {PROMPT: [reply(agent(prep, "prepare", run_in_background=False)),
                       reply(agent(first, "write a"), agent(second, "write b")),
                       reply("both running")],
              prep: [writes(claude_project, "b.py"), reply("b.py is there")],
              first: [writes(claude_project, "a.py"), reply("a done")],
              second: [reply("b done"), reply("b done, really")]}

    play(messages_api, claude_project, script, env={"HOOKSWARM_EVIDENCE_BLOCKS": "1"})

    assert told(messages_api, prep) == []
    assert told(messages_api, first) == []
    assert "b.py (unchanged since the agent was spawned)" in said_in(messages_api, second, 1)
    assert len(messages_api.conversation(second)) == 2
    notes = "\n".join(told(messages_api, PROMPT))
    assert notes.count(SAYS) == 2, notes
    assert "'write a' verified: 1/1 files (a.py)" in notes
    assert "'write b' unverified: b.py (unchanged" in notes


def test_an_agent_that_declared_nothing_is_left_alone(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    plain = "agent calc, no declaration"
    script = {PROMPT: [reply(agent(plain)), reply("calc is running")], plain: [reply("done")]}

    play(messages_api, claude_project, script)

    assert len(messages_api.conversation(plain)) == 1
    assert told(messages_api, plain) == []
    assert told(messages_api, PROMPT) == []
    assert task_notifications(messages_api.conversation(PROMPT)[-1]), "the parent never heard"
    assert not (claude_project / ".swarm").exists()
