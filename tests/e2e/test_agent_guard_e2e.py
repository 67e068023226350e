"""The agent guard under the real Claude Code CLI, with a scripted model and real sub-agents.

Background agents report back through ``<task-notification>`` turns, and new input rightly
lets the next spawn through. So the scripts *hold* each background sub-agent's first answer
until the main conversation's last request has arrived: no notification can slip in between
the messages a test is about. Holding and releasing use events on the fake server, not sleeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.messages_api import (
    DONE,
    JSON,
    MessagesAPI,
    RecordedRequest,
    Reply,
    ToolResult,
    ToolUse,
    assistant_turns,
    first_user_text,
    reply,
    system_texts,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import (
    ClaudeRun,
    claude_command,
    claude_env,
    kill_group,
    parse_events,
    run_claude,
    user_turns,
    write_settings,
)
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

pytestmark = pytest.mark.timeout(90)

GUARD = f"{sys.executable} -m hookswarm.hooks.agent_guard"
GATE_TIMEOUT = 30.0
ALLOW_AGENTS = ("--allowedTools", "Agent")
DENIED_BY_GUARD = "hookswarm agent guard:"


def agent(name: str, **extra: Any) -> ToolUse:
    """An Agent tool call whose sub-agent conversation is keyed by the prompt ``agent <name>``."""
    return tool_use("Agent", {"description": f"research {name}", "prompt": f"agent {name}",
                              **extra})


@dataclass(frozen=True)
class Step:
    """One scripted answer: sent after gate ``after`` opens; its arrival opens gate ``opens``."""

    reply: Reply = DONE
    after: str = ""
    opens: str = ""


class Scene:
    """Replies per conversation (first user message) and assistant turn, with gates."""

    def __init__(self, conversations: Mapping[str, Sequence[Step | Reply]]) -> None:
        self.conversations = {key: [s if isinstance(s, Step) else Step(s) for s in steps]
                              for key, steps in conversations.items()}
        self.gates: defaultdict[str, threading.Event] = defaultdict(threading.Event)
        self.late: list[str] = []

    def __call__(self, body: JSON) -> Reply:
        steps = self.conversations.get(first_user_text(body), [])
        turn = assistant_turns(body)
        step = steps[turn] if turn < len(steps) else Step()
        if step.opens:
            self.gates[step.opens].set()
        if step.after and not self.gates[step.after].wait(GATE_TIMEOUT):
            self.late.append(step.after)
        return step.reply


def held(*names: str, until: str = "final") -> dict[str, list[Step]]:
    """Background sub-agents that answer "done" only once gate ``until`` is open."""
    return {f"agent {name}": [Step(after=until)] for name in names}


def guard_settings(command: str = GUARD) -> dict[str, Any]:
    """The guard as a plain command hook on the three events it needs."""
    handler = [{"type": "command", "command": command, "timeout": 10}]
    return {"hooks": {"PreToolUse": [{"matcher": "Agent|Task", "hooks": handler}],
                      "PostToolBatch": [{"hooks": handler}],
                      "UserPromptSubmit": [{"hooks": handler}]}}


HOOKRUN_TOML = "".join(
    f'[[hooks]]\nname = "agent-guard-{event}"\nevent = "{event}"\n{matcher}'
    'call = "hookswarm.hooks.agent_guard:check"\noptions = { mode = "block" }\n\n'
    for event, matcher in (("PreToolUse", 'matcher = "Agent|Task"\n'), ("PostToolBatch", ""),
                           ("UserPromptSubmit", "")))


def use_guard(project: Path, wiring: str) -> None:
    if wiring == "install":  # what the README tells people to run
        env = {k: v for k, v in os.environ.items()
               if k not in ("CLAUDE_PROJECT_DIR", "HOOKRUN_CONFIG")}
        done = subprocess.run([HOOKRUN, "install", "--agent-guard"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    elif wiring == "hookrun":
        (project / ".claude" / "hookrun.toml").write_text(HOOKRUN_TOML)
        write_settings(project, guard_settings(f"{HOOKRUN} run"))
    else:
        write_settings(project, guard_settings())


def play(api: MessagesAPI, project: Path, scene: Scene, prompt: str | Sequence[str],
         *extra_args: str, env: Mapping[str, str] | None = None) -> ClaudeRun:
    api.script = scene
    run = run_claude(project, prompt, api=api, extra_args=[*ALLOW_AGENTS, *extra_args], env=env)
    assert run.exit_code == 0, run.describe()
    assert scene.late == [], f"gates never opened: {scene.late}"
    return run


def results_in(api: MessagesAPI, conversation: str, turn: int) -> list[ToolResult]:
    """The tool_results answering the model's previous message, as sent in request ``turn``."""
    requests = [r for r in api.conversation(conversation) if assistant_turns(r.body) == turn]
    assert requests, f"no request #{turn} in conversation {conversation!r}"
    last_assistant = _last_assistant_ids(requests[0])
    return [r for r in tool_results(requests[0]) if r.tool_use_id in last_assistant]


def _last_assistant_ids(request: RecordedRequest) -> set[str]:
    assistants = [m for m in request.body["messages"] if m.get("role") == "assistant"]
    content = assistants[-1]["content"] if assistants else []
    return {b["id"] for b in content if isinstance(b, dict) and b.get("type") == "tool_use"}


def starts(api: MessagesAPI, name: str) -> int:
    """How many times sub-agent ``name`` was started (requests that open its conversation)."""
    return sum(1 for r in api.conversation(f"agent {name}") if assistant_turns(r.body) == 0)


def denials(run: ClaudeRun) -> list[str]:
    """The denied calls every ``result`` event reports (one per turn, notifications included)."""
    return [d["tool_input"]["description"] for result in run.of_type("result")
            for d in result.get("permission_denials", [])]


PROMPT = "research a, b and c"


def sequential_scene() -> Scene:
    """a alone, then b alone (denied), then b and c together, then text."""
    main: list[Step | Reply] = [reply("starting", agent("a")), reply(agent("b")),
                                reply(agent("b"), agent("c")),
                                Step(reply("all running"), opens="final")]
    return Scene({PROMPT: main, **held("a", "b", "c")})


def test_three_agents_in_one_message_all_spawn(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    scene = Scene({PROMPT: [reply(agent("a"), agent("b"), agent("c")),
                            Step(reply("all running"), opens="final")],
                   **held("a", "b", "c")})

    run = play(messages_api, claude_project, scene, PROMPT)

    assert [r.is_error for r in results_in(messages_api, PROMPT, 1)] == [False] * 3
    assert [starts(messages_api, name) for name in "abc"] == [1, 1, 1]
    assert denials(run) == []


@pytest.mark.parametrize("wiring", ["command", "hookrun", "install"])
def test_one_agent_per_message_is_denied_and_the_batch_then_runs(
        messages_api: MessagesAPI, claude_project: Path, wiring: str) -> None:
    use_guard(claude_project, wiring)

    run = play(messages_api, claude_project, sequential_scene(), PROMPT)

    [denied] = results_in(messages_api, PROMPT, 2)
    assert denied.is_error
    assert DENIED_BY_GUARD in denied.content
    assert "'research a'" in denied.content
    assert "ONE message" in denied.content
    assert [r.is_error for r in results_in(messages_api, PROMPT, 3)] == [False, False]
    assert [starts(messages_api, name) for name in "abc"] == [1, 1, 1]
    assert denials(run) == ["research b"]


@pytest.mark.parametrize(("mode", "warned"), [("warn", True), ("off", False)])
def test_warn_and_off_modes_let_the_spawn_through(
        messages_api: MessagesAPI, claude_project: Path, mode: str, warned: bool) -> None:
    use_guard(claude_project, "command")

    run = play(messages_api, claude_project, sequential_scene(), PROMPT,
               env={"HOOKSWARM_AGENT_GUARD": mode})

    assert [r.is_error for r in results_in(messages_api, PROMPT, 2)] == [False]
    [request] = [r for r in messages_api.conversation(PROMPT) if assistant_turns(r.body) == 2]
    assert any("warning only" in text for text in system_texts(request)) is warned
    assert [starts(messages_api, name) for name in "abc"] == [1, 2, 1]
    assert denials(run) == []
    assert (claude_project / ".swarm" / "guard").exists() is warned


def test_a_corrupt_state_fails_open_with_a_note_and_recovers(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    session = str(uuid.uuid4())
    state = claude_project / ".swarm" / "guard" / f"{session}.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 1, "threads": {"main": {"last": ')

    run = play(messages_api, claude_project, sequential_scene(), PROMPT,
               "--session-id", session, "--include-hook-events")

    notes = [e["stderr"] for e in run.of_type("system", "hook_response") if e.get("stderr")]
    assert len(notes) == 1, notes
    assert notes[0].startswith(f"{DENIED_BY_GUARD} state file {state} is corrupt")
    assert [r.is_error for r in results_in(messages_api, PROMPT, 1)] == [False]
    assert denials(run) == ["research b"]
    assert json.loads(state.read_text())["version"] == 1


def test_a_spawn_after_a_foreground_agent_or_with_the_marker_is_allowed(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    marked = agent("c", prompt="[depends-on: b has claimed the lock] agent c")
    scene = Scene({PROMPT: [reply(agent("a", run_in_background=False)), reply(agent("b")),
                            reply(marked), Step(reply("all running"), opens="final")],
                   **held("b"),
                   "[depends-on: b has claimed the lock] agent c": [Step(after="final")]})

    run = play(messages_api, claude_project, scene, PROMPT)

    for turn in (1, 2, 3):
        assert [r.is_error for r in results_in(messages_api, PROMPT, turn)] == [False], turn
    assert (starts(messages_api, "a"), starts(messages_api, "b")) == (1, 1)
    assert denials(run) == []


def test_spawns_in_two_user_turns_are_allowed(
        messages_api: MessagesAPI, claude_project: Path, tmp_path: Path) -> None:
    use_guard(claude_project, "command")
    first = "research a now"
    scene = Scene({first: [reply(agent("a")), Step(reply("a is running"), opens="turn one over"),
                           reply(agent("b")), Step(reply("b is running"), opens="final")],
                   **held("a", "b")})
    messages_api.script = scene

    run = run_turns(claude_project, messages_api, tmp_path / "home",
                    [first, "and now research b"], between="turn one over")

    assert scene.late == []
    assert [r.is_error for r in results_in(messages_api, first, 3)] == [False]
    assert (starts(messages_api, "a"), starts(messages_api, "b")) == (1, 1)
    assert denials(run) == []


def run_turns(project: Path, api: MessagesAPI, home: Path, prompts: Sequence[str], *,
              between: str) -> ClaudeRun:
    """Send the second user turn on stdin only once the scene opened gate ``between``."""
    scene = api.script
    assert isinstance(scene, Scene)
    command = claude_command(None, extra_args=ALLOW_AGENTS)
    with subprocess.Popen(command, cwd=project, env=claude_env(api, home), text=True,
                          start_new_session=True, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        try:
            assert child.stdin is not None
            child.stdin.write(user_turns(prompts[:1]))
            child.stdin.flush()
            assert scene.gates[between].wait(GATE_TIMEOUT), f"gate {between!r} never opened"
            stdout, stderr = child.communicate(user_turns(prompts[1:]), timeout=60)
        finally:
            kill_group(child.pid)
    run = ClaudeRun(child.returncode, parse_events(stdout), stdout, stderr, home)
    assert run.exit_code == 0, run.describe()
    return run


def test_spawns_inside_a_sub_agent_are_tracked_apart(
        messages_api: MessagesAPI, claude_project: Path) -> None:
    use_guard(claude_project, "command")
    scene = Scene({
        PROMPT: [reply(agent("lead")), Step(reply(agent("b")), after="lead asked twice"),
                 Step(reply("done here"), opens="final")],
        "agent lead": [reply(agent("e", run_in_background=True)),
                       reply(agent("f", run_in_background=True)),
                       Step(reply("lead done"), opens="lead asked twice", after="final")],
        **held("b", "e")})

    run = play(messages_api, claude_project, scene, PROMPT)

    assert [r.is_error for r in results_in(messages_api, "agent lead", 1)] == [False]
    [lead_denied] = results_in(messages_api, "agent lead", 2)
    [main_denied] = results_in(messages_api, PROMPT, 2)
    assert lead_denied.is_error
    assert "'research e'" in lead_denied.content
    assert main_denied.is_error
    assert "'research lead'" in main_denied.content
    assert (starts(messages_api, "e"), starts(messages_api, "f")) == (1, 0)
    assert sorted(denials(run)) == ["research b", "research f"], run.describe()
