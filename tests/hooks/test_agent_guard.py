"""The agent guard as Claude Code and hookrun call it: payload sequences, modes, failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.hooks import agent_guard
from hookswarm.lib.errors import ConfigError
from tests.helpers.imports import modules_loaded_by

if TYPE_CHECKING:
    from pathlib import Path

SESSION = "cd0a4f5e-2b7c-4e1d-9a3f-0c1d2e3f4a5b"
ASYNC = [{"type": "text", "text": "Async agent launched successfully.\nagentId: a9bd\n"
          "The agent is working in the background. You will be notified automatically."}]
HAND_BACK = [{"type": "text", "text": "[Subagent hand-back] The report follows:\n  done"}]


class Claude:
    """Payloads shaped like Claude Code 2.1.328's (older CLIs name the tool ``Task``)."""

    def __init__(self, project: Path, *, tool: str = "Agent", prompt_id: str = "p1") -> None:
        self.project, self.tool, self.prompt_id = project, tool, prompt_id
        self.calls = 0

    def _common(self, event: str, agent_id: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "session_id": SESSION, "cwd": str(self.project), "prompt_id": self.prompt_id,
            "transcript_path": str(self.project / f"{SESSION}.jsonl"),
            "permission_mode": "default", "hook_event_name": event}
        if agent_id:
            payload.update(agent_id=agent_id, agent_type="general-purpose")
        return payload

    def pre(self, description: str, *, agent_id: str | None = None,
            **tool_input: Any) -> dict[str, Any]:
        self.calls += 1
        return {**self._common("PreToolUse", agent_id), "tool_name": self.tool,
                "tool_use_id": f"toolu_{self.calls:02d}", "effort": {"level": "medium"},
                "tool_input": {"description": description, "prompt": f"do {description}",
                               **tool_input}}

    def batch(self, *calls: tuple[str, Any], agent_id: str | None = None) -> dict[str, Any]:
        tool_calls = [{"tool_name": self.tool if name != "Bash" else "Bash",
                       "tool_input": {"description": name}, "tool_use_id": f"toolu_b{i}",
                       "tool_response": response} for i, (name, response) in enumerate(calls)]
        return {**self._common("PostToolBatch", agent_id), "tool_calls": tool_calls}

    def prompt(self, text: str, *, prompt_id: str | None = None) -> dict[str, Any]:
        self.prompt_id = prompt_id or self.prompt_id
        return {**self._common("UserPromptSubmit", None), "prompt": text}


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"CLAUDE_PROJECT_DIR": str(tmp_path)}


def guard(payload: dict[str, Any], environ: dict[str, str],
          mode: str = "block") -> dict[str, Any] | None:
    return agent_guard.handle(payload, mode=mode, environ=environ)


def denied(answer: dict[str, Any] | None) -> bool:
    return answer is not None and answer["hookSpecificOutput"].get("permissionDecision") == "deny"


def state_file(project: Path) -> Path:
    return project / ".swarm" / "guard" / f"{SESSION}.json"


@pytest.fixture(params=["Agent", "Task"])
def claude(request: pytest.FixtureRequest, tmp_path: Path) -> Claude:
    """Payloads for the current tool name and for the legacy one."""
    return Claude(tmp_path, tool=request.param)


def test_three_agents_in_one_message_are_allowed(claude: Claude, environ: dict[str, str]) -> None:
    answers = [guard(claude.pre(name), environ) for name in "abc"]
    assert answers == [None, None, None]
    guard(claude.batch(("a", ASYNC), ("b", ASYNC), ("c", ASYNC)), environ)
    assert guard(claude.pre("d"), environ) is None


def test_one_agent_per_message_is_denied_then_the_batch_runs(
        claude: Claude, environ: dict[str, str]) -> None:
    assert guard(claude.pre("scan api"), environ) is None
    guard(claude.batch(("scan api", ASYNC)), environ)
    answer = guard(claude.pre("scan db"), environ)
    assert denied(answer)
    assert answer is not None
    reason = answer["hookSpecificOutput"]["permissionDecisionReason"]
    assert "'scan api'" in reason
    assert "ONE message" in reason
    guard(claude.batch(("scan db", "PreToolUse:Agent hook error: " + reason)), environ)
    assert [guard(claude.pre(name), environ) for name in ("scan db", "scan ui")] == [None, None]


def test_a_spawn_after_a_foreground_agent_is_allowed(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("plan", run_in_background=False), environ)
    guard(claude.batch(("plan", HAND_BACK)), environ)
    assert guard(claude.pre("build"), environ) is None


def test_a_marked_spawn_is_allowed(claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("plan"), environ)
    guard(claude.batch(("plan", ASYNC)), environ)
    marked = claude.pre("build")
    marked["tool_input"]["prompt"] = "[depends-on: the schema from the last Bash call] build it"
    assert guard(marked, environ) is None


def test_spawns_in_different_user_turns_are_allowed(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("a"), environ)
    guard(claude.batch(("a", ASYNC)), environ)
    guard(claude.prompt("next", prompt_id="p2"), environ)
    assert guard(claude.pre("b"), environ) is None


def test_new_prompt_id_alone_starts_a_new_turn(claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("a"), environ)
    guard(claude.batch(("a", ASYNC)), environ)
    claude.prompt_id = "p2"
    assert guard(claude.pre("b"), environ) is None


def test_a_task_notification_turn_allows_the_next_spawn(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("a"), environ)
    guard(claude.batch(("a", ASYNC)), environ)
    guard(claude.prompt("<task-notification>\n<task-id>a9bd</task-id>"), environ)
    assert guard(claude.pre("b"), environ) is None


def test_spawns_inside_a_sub_agent_are_tracked_apart(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("a"), environ)
    guard(claude.batch(("a", ASYNC)), environ)
    assert guard(claude.pre("e", agent_id="a9bd", run_in_background=True), environ) is None
    guard(claude.batch(("e", ASYNC), agent_id="a9bd"), environ)
    assert denied(guard(claude.pre("b"), environ))
    assert denied(guard(claude.pre("f", agent_id="a9bd", run_in_background=True), environ))
    assert guard(claude.pre("g", agent_id="a0ff"), environ) is None


def test_a_sub_agents_foreground_spawns_are_allowed(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("e", agent_id="a9bd"), environ)
    guard(claude.batch(("e", HAND_BACK), agent_id="a9bd"), environ)
    assert guard(claude.pre("f", agent_id="a9bd"), environ) is None


def test_warn_mode_allows_with_a_note_to_the_model(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("a"), environ, mode="warn")
    guard(claude.batch(("a", ASYNC)), environ, mode="warn")
    answer = guard(claude.pre("b"), environ, mode="warn")
    assert answer is not None
    output = answer["hookSpecificOutput"]
    assert "permissionDecision" not in output
    assert output["hookEventName"] == "PreToolUse"
    assert "warning only" in output["additionalContext"]


def test_off_mode_answers_nothing_and_keeps_no_state(
        claude: Claude, environ: dict[str, str]) -> None:
    for payload in (claude.pre("a"), claude.batch(("a", ASYNC)), claude.pre("b")):
        assert guard(payload, environ, mode="off") is None
    assert not (claude.project / ".swarm").exists()


@pytest.mark.parametrize(("options", "env", "mode"), [
    ({}, {}, "block"),
    ({}, {"HOOKSWARM_AGENT_GUARD": "warn"}, "warn"),
    ({}, {"HOOKSWARM_AGENT_GUARD": ""}, "block"),
    ({"mode": "off"}, {"HOOKSWARM_AGENT_GUARD": "warn"}, "off"),
    ({"mode": "block"}, {"HOOKSWARM_AGENT_GUARD": "off"}, "block"),
])
def test_resolve_mode(options: dict[str, Any], env: dict[str, str], mode: str) -> None:
    assert agent_guard.resolve_mode(options, env) == mode


@pytest.mark.parametrize(("options", "env", "message"), [
    ({"mode": "deny"}, {}, "options.mode is 'deny'; use one of: block, warn, off"),
    ({}, {"HOOKSWARM_AGENT_GUARD": "of"}, "$HOOKSWARM_AGENT_GUARD is 'of'"),
    ({"mode": "warn", "modes": "x"}, {}, "has no option 'modes'"),
])
def test_resolve_mode_rejects_bad_config(options: dict[str, Any], env: dict[str, str],
                                         message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("$", r"\$")):
        agent_guard.resolve_mode(options, env)


def test_check_reads_options_then_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claude = Claude(tmp_path)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKSWARM_AGENT_GUARD", "off")
    agent_guard.check(claude.pre("a"), mode="block")
    agent_guard.check(claude.batch(("a", ASYNC)), mode="block")
    assert denied(agent_guard.check(claude.pre("b"), mode="block"))
    assert agent_guard.check(claude.pre("c")) is None


def test_a_corrupt_state_fails_open_with_one_stderr_line(
        claude: Claude, environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    guard(claude.pre("a"), environ)
    guard(claude.batch(("a", ASYNC)), environ)
    state_file(claude.project).write_text('{"version": 1, "threads": {"main": ')
    assert guard(claude.pre("b"), environ) is None
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("hookswarm agent guard: state file ")
    assert "corrupt" in captured.err


def test_an_unusable_state_directory_fails_open_with_one_stderr_line(
        claude: Claude, environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    (claude.project / ".swarm").write_text("not a directory")
    assert guard(claude.pre("a"), environ) is None
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "allowing" in err


def test_the_project_is_claude_project_dir_else_cwd(tmp_path: Path) -> None:
    claude = Claude(tmp_path / "cwd")
    guard(claude.pre("a"), {"CLAUDE_PROJECT_DIR": str(tmp_path / "project")})
    assert state_file(tmp_path / "project").exists()
    guard(claude.pre("a"), {})
    assert state_file(tmp_path / "cwd").exists()


@pytest.mark.parametrize("payload", [
    {"hook_event_name": "PreToolUse", "tool_name": "Bash", "session_id": SESSION,
     "tool_input": {"command": "ls"}},
    {"hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_input": {}},
    {"hook_event_name": "PostToolBatch", "session_id": SESSION, "tool_calls": [
        {"tool_name": "Bash", "tool_input": {}, "tool_response": "ok"}]},
    {"hook_event_name": "UserPromptSubmit", "session_id": SESSION, "prompt": "hi"},
    {"hook_event_name": "Stop", "session_id": SESSION},
    {},
])
def test_events_that_need_no_state_write_none(
        payload: dict[str, Any], tmp_path: Path, environ: dict[str, str]) -> None:
    assert guard({**payload, "cwd": str(tmp_path)}, environ) is None
    assert not (tmp_path / ".swarm").exists()


def test_a_batch_without_agents_after_a_harmless_message_does_not_write(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.pre("a"), environ)
    guard(claude.batch(("a", HAND_BACK)), environ)
    before = state_file(claude.project).read_bytes()
    guard(claude.batch(("Bash", "ok")), environ)
    assert state_file(claude.project).read_bytes() == before


def run_module(stdin: str, project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), **env}
    if "HOOKSWARM_AGENT_GUARD" not in env:
        environ.pop("HOOKSWARM_AGENT_GUARD", None)
    return subprocess.run([sys.executable, "-m", "hookswarm.hooks.agent_guard"], input=stdin,
                          capture_output=True, text=True, env=environ, timeout=30, check=False)


def test_command_hook_prints_the_deny_and_exits_0(tmp_path: Path) -> None:
    claude = Claude(tmp_path)
    for payload in (claude.pre("a"), claude.batch(("a", ASYNC))):
        assert run_module(json.dumps(payload), tmp_path).stdout == ""
    ran = run_module(json.dumps(claude.pre("b")), tmp_path)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert denied(json.loads(ran.stdout))


@pytest.mark.parametrize(("stdin", "env", "code", "err"), [
    ("not json", {}, 0, "stdin is not a hook payload"),
    ("[1, 2]", {}, 0, "stdin is not a hook payload"),
    ("[" * 100_000 + "]" * 100_000, {}, 0, "stdin is not a hook payload"),  # past the depth
    ('{"hook_event_name": "PreToolUse", "tool_name": "Agent", "session_id": "s"}',
     {"HOOKSWARM_AGENT_GUARD": "strict"}, 1, "$HOOKSWARM_AGENT_GUARD is 'strict'"),
])
def test_command_hook_failures_are_one_stderr_line(
        tmp_path: Path, stdin: str, env: dict[str, str], code: int, err: str) -> None:
    ran = run_module(stdin, tmp_path, **env)
    assert (ran.returncode, ran.stdout) == (code, "")
    assert len(ran.stderr.splitlines()) == 1
    assert err in ran.stderr


def test_the_guard_imports_nothing_heavy() -> None:
    loaded = modules_loaded_by("hookswarm.hooks.agent_guard")
    assert "hookswarm" in loaded
    assert loaded.isdisjoint({"pydantic", "anyio", "click", "filelock", "asyncio"})
