"""The evidence guard as Claude Code and hookrun call it: payload sequences over a real disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hookswarm.hooks import agent_guard, evidence_guard
from hookswarm.hooks.evidence_guard import Settings
from hookswarm.lib import hookconfig as config
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.protocol import Block
from tests.helpers.hookrun_toml import hookrun_toml
from tests.helpers.imports import modules_loaded_by

SESSION = "5f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


class Claude:
    """Payloads shaped like Claude Code 2.1.328's, with sub-agent transcripts on disk."""

    def __init__(self, project: Path, home: Path) -> None:
        self.project, self.home = project, home
        self.calls = 0

    def _common(self, event: str, agent_id: str = "") -> dict[str, Any]:
        payload: dict[str, Any] = {"session_id": SESSION, "cwd": str(self.project),
                                   "prompt_id": "p1", "hook_event_name": event,
                                   "transcript_path": str(self.home / f"{SESSION}.jsonl")}
        if agent_id:
            payload.update(agent_id=agent_id, agent_type="general-purpose")
        return payload

    def spawn(self, prompt: str, *, description: str = "write calc", agent_id: str = "",
              tool: str = "Agent") -> dict[str, Any]:
        self.calls += 1
        return {**self._common("PreToolUse", agent_id), "tool_name": tool,
                "tool_use_id": f"toolu_{self.calls:02d}",
                "tool_input": {"description": description, "prompt": prompt}}

    def started(self, agent_id: str, spawn: dict[str, Any], *, meta: bool = True,
                transcript: bool = False) -> None:
        """What Claude Code writes when the agent starts: meta.json, later the transcript."""
        base = self.home / SESSION / "subagents" / f"agent-{agent_id}"
        base.parent.mkdir(parents=True, exist_ok=True)
        if meta:
            base.with_suffix(".meta.json").write_text(json.dumps(
                {"agentType": "general-purpose", "toolUseId": spawn["tool_use_id"]}))
        if transcript:
            first = {"type": "user", "isSidechain": True, "agentId": agent_id,
                     "message": {"role": "user", "content": spawn["tool_input"]["prompt"]}}
            base.with_suffix(".jsonl").write_text(json.dumps(first) + "\n")

    def stop(self, agent_id: str, said: str = "done, calc.py written",
             active: bool = False, parent: str = "") -> dict[str, Any]:
        transcript = self.home / SESSION / "subagents" / f"agent-{agent_id}.jsonl"
        payload = {**self._common("SubagentStop", parent), "stop_hook_active": active,
                   "agent_transcript_path": str(transcript), "last_assistant_message": said}
        payload.update(agent_id=agent_id)
        return payload

    def prompt(self, text: str = "<task-notification>...</task-notification>") -> dict[str, Any]:
        return {**self._common("UserPromptSubmit"), "prompt": text}

    def batch(self, agent_id: str = "", *calls: tuple[dict[str, Any], Any]) -> dict[str, Any]:
        """PostToolBatch; ``calls`` pair a spawn payload with its model-facing response."""
        tool_calls = [{"tool_name": spawn["tool_name"], "tool_input": spawn["tool_input"],
                       "tool_use_id": spawn["tool_use_id"], "tool_response": response}
                      for spawn, response in calls]
        return {**self._common("PostToolBatch", agent_id), "tool_calls": tool_calls}

    def task(self, event: str, subject: str, description: str = "") -> dict[str, Any]:
        return {**self._common(event), "task_id": "7", "task_subject": subject,
                "task_description": description, "teammate_name": "builder"}


@pytest.fixture
def claude(tmp_path: Path) -> Claude:
    project = tmp_path / "project"
    project.mkdir()
    return Claude(project, tmp_path / "home")


@pytest.fixture
def environ(claude: Claude) -> dict[str, str]:
    return {"CLAUDE_PROJECT_DIR": str(claude.project)}


def guard(payload: dict[str, Any], environ: dict[str, str], mode: str = "block",
          max_blocks: int = 2) -> dict[str, Any] | None:
    return evidence_guard.handle(payload, settings=Settings(mode, max_blocks), environ=environ)


CALC = "[expects: calc.py] write calc"


def spawned(claude: Claude, environ: dict[str, str], prompt: str = CALC, agent: str = "ag1",
            **spawn: Any) -> dict[str, Any]:
    """An Agent call the guard saw, whose sub-agent ``agent`` has started."""
    payload = claude.spawn(prompt, **spawn)
    assert guard(payload, environ) is None
    claude.started(agent, payload)
    return payload


def reason(answer: dict[str, Any] | None) -> str:
    assert answer is not None, answer
    assert answer["decision"] == "block", answer
    return str(answer["reason"])


def told(answer: dict[str, Any] | None, event: str = "UserPromptSubmit") -> str:
    assert answer is not None, "the parent was told nothing"
    assert answer["hookSpecificOutput"]["hookEventName"] == event
    return str(answer["hookSpecificOutput"]["additionalContext"])


def state_file(claude: Claude) -> Path:
    return claude.project / ".swarm" / "guard" / f"{SESSION}.json"


def write(path: Path, text: str = "def add(a, b):\n    return a + b\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_claim_without_the_file_is_blocked_then_verified_once_written(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ, "[expects: calc.py, tests/test_calc.py] write calc")
    write(claude.project / "tests" / "test_calc.py")

    first = reason(guard(claude.stop("ag1"), environ))
    assert "calc.py (missing)" in first
    assert "test_calc.py" not in first.split("yet:")[1]
    assert guard(claude.prompt(), environ) is None

    write(claude.project / "calc.py")
    assert guard(claude.stop("ag1", "done now", active=True), environ) is None
    note = told(guard(claude.prompt(), environ))
    assert "'write calc' verified: 2/2 files (calc.py, tests/test_calc.py)" in note
    assert guard(claude.prompt(), environ) is None


def test_an_agent_that_never_writes_stops_after_two_blocks_and_the_parent_hears_it(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ)

    answers = [guard(claude.stop("ag1", f"done ({n})", active=n > 0), environ) for n in range(3)]

    assert [a is not None for a in answers] == [True, True, False]
    assert "1 more blocked stop(s)" in reason(answers[0])
    assert "this is the last block" in reason(answers[1])
    note = told(guard(claude.batch(), environ), "PostToolBatch")
    assert "'write calc' unverified: calc.py (missing)" in note
    assert 'claimed: "done (2)"' in note


def test_max_blocks_is_configurable(claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ)
    assert guard(claude.stop("ag1"), environ, max_blocks=0) is None
    assert "unverified: calc.py" in told(guard(claude.prompt(), environ))


def test_a_file_that_did_not_change_since_the_spawn_does_not_count(
        claude: Claude, environ: dict[str, str]) -> None:
    write(claude.project / "calc.py")
    spawned(claude, environ)
    assert "calc.py (unchanged since the agent was spawned)" in reason(
        guard(claude.stop("ag1"), environ))


def test_an_empty_file_does_not_count(claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ)
    write(claude.project / "calc.py", "")
    assert "calc.py (empty)" in reason(guard(claude.stop("ag1"), environ))


def test_parallel_agents_are_judged_apart_and_a_siblings_earlier_write_does_not_count(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ, "[expects: a.py] write a", description="write a")
    write(claude.project / "a.py")
    write(claude.project / "b.py")
    spawned(claude, environ, "[expects: b.py] write b", "ag2", description="write b")
    spawned(claude, environ, "[expects: c.py] write c", "ag3", description="write c")
    write(claude.project / "c.py")

    assert guard(claude.stop("ag1"), environ) is None
    assert "b.py (unchanged since" in reason(guard(claude.stop("ag2"), environ))
    assert guard(claude.stop("ag3"), environ) is None
    note = told(guard(claude.prompt(), environ))
    assert "'write a' verified: 1/1" in note
    assert "'write c' verified: 1/1" in note
    assert "write b" not in note


def test_nothing_declared_writes_no_state_and_answers_nothing(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ, "write calc.py please")
    assert guard(claude.stop("ag1"), environ) is None
    assert guard(claude.prompt(), environ) is None
    assert not state_file(claude).exists()


def test_a_declared_spawn_leaves_undeclared_siblings_alone(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ)
    spawned(claude, environ, "look around", "ag2")
    assert guard(claude.stop("ag2"), environ) is None
    assert reason(guard(claude.stop("ag1"), environ))


def test_without_meta_json_the_transcripts_first_prompt_finds_the_claim(
        claude: Claude, environ: dict[str, str]) -> None:
    spawn = claude.spawn("[expects: calc.py] write calc")
    guard(spawn, environ)
    claude.started("ag1", spawn, meta=False, transcript=True)
    assert "calc.py (missing)" in reason(guard(claude.stop("ag1"), environ))


@pytest.mark.parametrize("lines", [
    [{"type": "user", "message": {"role": "user", "content": "the prompt"}}],
    [{"type": "attachment"}, "not json",
     {"type": "user", "message": {"content": [{"type": "text", "text": "<system-reminder>x"},
                                              {"type": "text", "text": "the prompt"}]}},
     {"type": "user", "message": {"content": "a later message"}}],
    ["[" * 60_000 + "]" * 60_000,  # nested past the parser's depth: skipped like any bad line
     {"type": "user", "message": {"content": "the prompt"}}],
])
def test_first_prompt_reads_the_first_user_message_without_reminders(
        tmp_path: Path, lines: list[Any]) -> None:
    transcript = tmp_path / "agent-x.jsonl"
    transcript.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                                  for line in lines))
    assert evidence_guard.first_prompt(str(transcript)) == "the prompt"
    assert evidence_guard.first_prompt(str(tmp_path / "missing.jsonl")) == ""


@pytest.mark.parametrize("meta", ["{not json", '{"toolUseId": ' * 60_000 + "1" + "}" * 60_000])
def test_a_meta_json_that_cannot_be_read_gives_no_spawn_key(tmp_path: Path, meta: str) -> None:
    (tmp_path / "agent-x.meta.json").write_text(meta)
    assert evidence_guard.spawn_key_of(str(tmp_path / "agent-x.jsonl")) == ""


def test_a_stop_that_cannot_be_matched_is_left_alone(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.spawn("[expects: calc.py] write calc"), environ)
    assert guard(claude.stop("ag1"), environ) is None


def test_the_legacy_task_tool_name_declares_too(claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ, tool="Task")
    assert reason(guard(claude.stop("ag1"), environ))


def test_a_spawn_refused_before_it_started_is_forgotten(
        claude: Claude, environ: dict[str, str]) -> None:
    refused = spawned(claude, environ, agent="never")
    started = spawned(claude, environ, "[expects: b.py] write b", "ag2")
    launched = [{"type": "text", "text": "Async agent launched successfully."}]
    guard(claude.batch("", (refused, "PreToolUse:Agent hook error: one at a time"),
                       (started, launched)), environ)
    claims = json.loads(state_file(claude).read_text())["evidence"]["claims"]
    assert list(claims) == [started["tool_use_id"]]


def test_a_nested_agents_note_goes_to_the_sub_agent_that_spawned_it(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ, agent_id="lead")
    write(claude.project / "calc.py")
    assert guard(claude.stop("ag1", parent="lead"), environ) is None
    assert guard(claude.prompt(), environ) is None
    assert guard(claude.batch(), environ) is None
    assert "verified: 1/1" in told(guard(claude.batch("lead"), environ), "PostToolBatch")


def test_warn_mode_never_blocks_and_tells_the_parent_at_once(
        claude: Claude, environ: dict[str, str]) -> None:
    spawned(claude, environ)
    assert guard(claude.stop("ag1"), environ, mode="warn") is None
    assert "unverified: calc.py (missing)" in told(guard(claude.prompt(), environ, mode="warn"))


def test_off_mode_does_nothing(claude: Claude, environ: dict[str, str]) -> None:
    spawn = claude.spawn("[expects: calc.py] write calc")
    assert guard(spawn, environ, mode="off") is None
    claude.started("ag1", spawn)
    assert guard(claude.stop("ag1"), environ, mode="off") is None
    assert not state_file(claude).exists()


def test_a_task_completed_without_its_files_is_refused_then_reported(
        claude: Claude, environ: dict[str, str]) -> None:
    guard(claude.task("TaskCreated", "Write calc [expects: calc.py]"), environ)
    completed = claude.task("TaskCompleted", "Write calc [expects: calc.py]")
    for _ in range(2):
        with pytest.raises(Block, match=r"calc\.py \(missing\)"):
            guard(completed, environ)
    assert guard(completed, environ) is None
    assert ("task 'Write calc [expects: calc.py]' unverified: calc.py (missing); 0/1 declared "
            'files hold. It claimed: "task 7 is complete"') in told(guard(claude.prompt(), environ))


def test_a_task_is_verified_against_its_snapshot(claude: Claude, environ: dict[str, str]) -> None:
    write(claude.project / "calc.py")
    guard(claude.task("TaskCreated", "Write calc", "[expects: calc.py]"), environ)
    completed = claude.task("TaskCompleted", "Write calc", "[expects: calc.py]")
    with pytest.raises(Block, match="unchanged"):
        guard(completed, environ)
    write(claude.project / "calc.py", "def add(a, b):\n    return b + a\n")
    assert guard(completed, environ) is None
    assert "verified: 1/1" in told(guard(claude.prompt(), environ))


def test_a_task_without_task_created_is_judged_on_existence_and_size(
        claude: Claude, environ: dict[str, str]) -> None:
    completed = claude.task("TaskCompleted", "Write calc [expects: calc.py]")
    with pytest.raises(Block, match="missing"):
        guard(completed, environ)
    write(claude.project / "calc.py")
    assert guard(completed, environ) is None
    assert "verified: 1/1" in told(guard(claude.prompt(), environ))


def test_both_guards_share_one_state_without_losing_each_others_part(
        claude: Claude, environ: dict[str, str]) -> None:
    spawn = claude.spawn("[expects: calc.py] write calc")
    guard(spawn, environ)
    agent_guard.handle(spawn, mode="block", environ=environ)
    agent_guard.handle(claude.prompt(), mode="block", environ=environ)
    claude.started("ag1", spawn)
    assert reason(guard(claude.stop("ag1"), environ))
    assert "main" in json.loads(state_file(claude).read_text())["threads"]


def corrupt(claude: Claude) -> None:
    state_file(claude).parent.mkdir(parents=True, exist_ok=True)
    state_file(claude).write_text('{"version": 1, "evidence": ')


def test_a_corrupt_state_lets_the_stop_through_with_one_stderr_line(
        claude: Claude, environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    spawned(claude, environ)
    corrupt(claude)
    assert guard(claude.stop("ag1"), environ) is None
    err = capsys.readouterr().err
    assert err == (f"hookswarm evidence guard: state file {state_file(claude)} is corrupt or "
                   "unreadable; allowing the stop\n")


def test_a_spawn_over_a_corrupt_state_starts_afresh_with_one_stderr_line(
        claude: Claude, environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    corrupt(claude)
    spawned(claude, environ)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is corrupt" in err
    assert "starting a fresh state" in err
    assert reason(guard(claude.stop("ag1"), environ))


@pytest.mark.parametrize(("options", "env", "settings"), [
    ({}, {}, Settings("block", 2)),
    ({}, {"HOOKSWARM_EVIDENCE_GUARD": "warn", "HOOKSWARM_EVIDENCE_BLOCKS": "5"},
     Settings("warn", 5)),
    ({"mode": "off", "max_blocks": 0}, {"HOOKSWARM_EVIDENCE_GUARD": "warn"}, Settings("off", 0)),
])
def test_resolve(options: dict[str, Any], env: dict[str, str], settings: Settings) -> None:
    assert evidence_guard.resolve(options, env) == settings


@pytest.mark.parametrize(("options", "env", "says"), [
    ({"mode": "strict"}, {}, "options.mode is 'strict'; use one of: block, warn, off"),
    ({}, {"HOOKSWARM_EVIDENCE_GUARD": "on"}, "$HOOKSWARM_EVIDENCE_GUARD is 'on'"),
    ({"max_blocks": -1}, {}, "options.max_blocks is -1; use a whole number"),
    ({"max_blocks": 1.5}, {}, "options.max_blocks is 1.5"),
    ({"max_blocks": True}, {}, "options.max_blocks is True"),
    ({"max_blocks": [2]}, {}, "options.max_blocks is [2]"),
    ({}, {"HOOKSWARM_EVIDENCE_BLOCKS": "two"}, "$HOOKSWARM_EVIDENCE_BLOCKS is 'two'"),
    ({"blocks": 2}, {}, "no option 'blocks' (it takes: mode, max_blocks)"),
])
def test_resolve_names_the_bad_setting_and_the_fix(
        options: dict[str, Any], env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        evidence_guard.resolve(options, env)
    assert says in str(caught.value)


def run_module(stdin: str, project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), **env}
    return subprocess.run([sys.executable, "-m", "hookswarm.hooks.evidence_guard"], input=stdin,
                          capture_output=True, text=True, env=environ, check=False, timeout=30)


def test_command_hook_blocks_a_stop_with_json_and_exits_0(claude: Claude) -> None:
    spawn = claude.spawn("[expects: calc.py] write calc")
    assert run_module(json.dumps(spawn), claude.project).stdout == ""
    claude.started("ag1", spawn)
    ran = run_module(json.dumps(claude.stop("ag1")), claude.project)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert "calc.py (missing)" in json.loads(ran.stdout)["reason"]


def test_command_hook_refuses_a_task_with_exit_2_and_the_reason_on_stderr(
        claude: Claude) -> None:
    ran = run_module(json.dumps(claude.task("TaskCompleted", "[expects: calc.py] calc")),
                     claude.project)
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr.startswith("hookswarm evidence guard: your task declared")


@pytest.mark.parametrize(("stdin", "env", "code", "err"), [
    ("not json", {}, 0, "stdin is not a hook payload"),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, {}, 0, "stdin is not a hook payload"),
    (json.dumps({"hook_event_name": "PreToolUse", "session_id": SESSION}),
     {"HOOKSWARM_EVIDENCE_GUARD": "loud"}, 1, "$HOOKSWARM_EVIDENCE_GUARD is 'loud'"),
])
def test_command_hook_failures_are_one_stderr_line(
        tmp_path: Path, stdin: str, env: dict[str, str], code: int, err: str) -> None:
    ran = run_module(stdin, tmp_path, **env)
    assert (ran.returncode, ran.stdout) == (code, "")
    assert len(ran.stderr.splitlines()) == 1
    assert err in ran.stderr


def test_through_hookrun_a_refused_task_is_exit_2_with_the_reason(claude: Claude) -> None:
    (claude.project / ".claude").mkdir()
    (claude.project / ".claude" / "hookrun.toml").write_text(
        hookrun_toml(evidence_guard.HOOKRUN_ENTRIES))
    hookrun = str(Path(sys.executable).with_name("hookrun"))
    ran = subprocess.run([hookrun, "run"], input=json.dumps(
        claude.task("TaskCompleted", "Write calc [expects: calc.py]")), capture_output=True,
        text=True, env={**os.environ, "CLAUDE_PROJECT_DIR": str(claude.project)},
        cwd=claude.project, check=False, timeout=30)
    assert (ran.returncode, ran.stdout) == (2, "")
    assert "hookswarm evidence guard: your task declared [expects: calc.py]" in ran.stderr


def test_the_hookrun_entries_are_a_valid_config_covering_every_event_the_guard_handles() -> None:
    parsed = config.parse({"hooks": [dict(e) for e in evidence_guard.HOOKRUN_ENTRIES]}, "t")
    assert {hook.event for hook in parsed.hooks} == set(evidence_guard._HANDLERS)
    spawn = [hook for hook in parsed.hooks if hook.event == "PreToolUse"]
    assert [hook.matcher for hook in spawn] == ["Agent|Task"]


def test_the_plugin_forwards_every_event_the_guard_handles_to_hookrun() -> None:
    plugin = Path(evidence_guard.__file__).with_name("hooks.json")
    assert set(evidence_guard._HANDLERS) <= set(json.loads(plugin.read_text())["hooks"])


def test_the_guard_imports_nothing_heavy() -> None:
    loaded = modules_loaded_by("hookswarm.hooks.evidence_guard")
    assert "hookswarm" in loaded
    assert loaded.isdisjoint({"pydantic", "anyio", "click", "filelock", "asyncio",
                              "dataclasses"})
