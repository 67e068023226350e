"""``hookrun install --agent-guard``: the guard table, the block in hookrun.toml, the verbs."""

from __future__ import annotations

import json
import os
import tomllib
from typing import Any

import pytest

from hookswarm.hooks.evidence_guard import HOOKRUN_ENTRIES
from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError, SettingsError
from hookswarm.settings import guards
from hookswarm.settings import install as installer
from tests.helpers.verbs import hookrun
from tests.helpers.workspace import FAKE_HOOKRUN, Workspace

# What the README told people to copy by hand before the flag existed.
README_TABLES: list[dict[str, Any]] = [
    {"name": "agent-guard", "event": "PreToolUse", "matcher": "Agent|Task",
     "call": "hookswarm.hooks.agent_guard:check", "options": {"mode": "warn"}},
    {"name": "agent-guard-batch", "event": "PostToolBatch",
     "call": "hookswarm.hooks.agent_guard:check"},
    {"name": "agent-guard-turn", "event": "UserPromptSubmit",
     "call": "hookswarm.hooks.agent_guard:check"},
    {"name": "agent-guard-protocol", "event": "SessionStart",
     "call": "hookswarm.hooks.spawn_protocol:context", "options": {"mode": "warn"}},
]


@pytest.mark.parametrize("before", ["", "[defaults]\ntimeout = 9\n", "[defaults]\ntimeout = 9",
                                    '[[hooks]]\nname = "x"\nevent = "Stop"\ncommand = "y"\n'])
def test_the_block_adds_the_four_entries_and_comes_out_again(before: str) -> None:
    text = guards.add(before, "agent-guard", "warn")
    assert tomllib.loads(text)["hooks"][-4:] == README_TABLES
    assert guards.installed(text) == ("agent-guard",)
    again = guards.add(text, "agent-guard", "block")
    assert again.count("[[hooks]]") == text.count("[[hooks]]")
    assert 'mode = "block"' in again
    assert 'mode = "warn"' not in again
    assert guards.remove(again, "agent-guard") == (before + "\n" if before and not
                                                   before.endswith("\n") else before)


def guard(ws: Workspace, *args: str) -> installer.Report:
    mode = args[0] if args else "block"
    return installer.install(scope="project", project=str(ws.project), environ=ws.environ,
                             config_path=None, executable=FAKE_HOOKRUN,
                             guards=("agent-guard",), mode=mode)


def test_one_command_turns_the_guard_on_and_uninstall_turns_it_off(workspace: Workspace) -> None:
    done = hookrun(workspace, "install", "--agent-guard", "--mode", "warn",
                   "--hookrun", FAKE_HOOKRUN)
    assert done.exit_code == 0, done.output
    assert ("  agent-guard: its hooks are in .claude/hookrun.toml (mode warn); `hookrun "
            "uninstall` removes them") in done.stdout.splitlines()
    config = configuration.load(str(workspace.claude / "hookrun.toml"))
    assert [(h.name, h.event, h.matcher, h.call, dict(h.options)) for h in config.hooks] == [
        (t["name"], t["event"], t.get("matcher", ""), t["call"], t.get("options", {}))
        for t in README_TABLES]
    hooks = json.loads(workspace.settings().read_text())["hooks"]
    assert {event: [g.get("matcher", "") for g in groups] for event, groups in hooks.items()} \
        == {"PreToolUse": ["Agent|Task"], "UserPromptSubmit": [""], "PostToolBatch": [""],
            "SessionStart": [""]}
    gone = hookrun(workspace, "uninstall")
    assert gone.exit_code == 0, gone.output
    assert "  removed agent-guard's hooks from hookrun.toml" in gone.stdout.splitlines()
    assert os.listdir(workspace.claude) == []


def test_the_guard_joins_an_existing_config_and_leaves_it_as_it_was(
        configured: Workspace) -> None:
    config = configured.claude / "hookrun.toml"
    before = config.read_text()
    report = guard(configured)
    assert report.guards == ("agent-guard",)
    assert report.mode == "block"
    assert [c.event for c in report.changes] == ["PreToolUse", "PostToolBatch",
                                                 "UserPromptSubmit", "SessionStart"]
    hooks = json.loads(configured.settings().read_text())["hooks"]
    assert hooks["PreToolUse"][0]["matcher"] == "Bash|Agent|Task"
    assert not guard(configured).written.changed  # a second run changes nothing
    removed = hookrun(configured, "uninstall", "--agent-guard", "--hookrun", FAKE_HOOKRUN)
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.splitlines()[0] == ("hookrun uninstall: removed agent-guard from "
                                              ".claude/hookrun.toml")
    assert config.read_text() == before
    assert set(json.loads(configured.settings().read_text())["hooks"]) == {
        "PreToolUse", "UserPromptSubmit"}


def test_a_guard_written_by_hand_is_not_doubled(workspace: Workspace) -> None:
    text = "".join(f'[[hooks]]\nname = "{t["name"]}"\nevent = "{t["event"]}"\n'
                   f'call = "{t["call"]}"\n' for t in README_TABLES)
    config = workspace.config(text)
    with pytest.raises(ConfigError, match="already has a hook named 'agent-guard' outside the "
                                          "block install writes: remove or rename it"):
        guard(workspace)
    assert config.read_text() == text
    assert not workspace.settings().exists()


def test_a_settings_file_that_cannot_be_edited_leaves_hookrun_toml_alone(
        configured: Workspace) -> None:
    before = (configured.claude / "hookrun.toml").read_text()
    configured.write_settings('{"hooks": []}')
    with pytest.raises(SettingsError, match="'hooks' must be an object"):
        guard(configured)
    assert (configured.claude / "hookrun.toml").read_text() == before


def test_mode_needs_a_guard(configured: Workspace) -> None:
    result = hookrun(configured, "install", "--mode", "warn")
    assert result.exit_code == 2
    assert "--mode goes with a guard flag" in result.output


def test_the_guards_table_names_only_real_events_and_calls() -> None:
    for guard_ in guards.GUARDS.values():
        for hook in guard_.hooks:
            assert hook.event in configuration.EVENTS
            module, _, function = hook.call.partition(":")
            assert callable(getattr(__import__(module, fromlist=[function]), function))



def test_a_config_that_does_not_load_is_put_back_as_it_was(workspace: Workspace) -> None:
    config = workspace.config('bogus = 1\n[[hooks]]\nname = "s"\nevent = "Stop"\n'
                              'command = "true"\n')
    before = config.read_bytes()
    with pytest.raises(ConfigError, match="bogus"):
        guard(workspace)
    assert config.read_bytes() == before
    assert not workspace.settings().exists()


def test_one_command_turns_the_evidence_guard_on_with_the_hooks_own_entries(
        workspace: Workspace) -> None:
    done = hookrun(workspace, "install", "--evidence-guard", "--mode", "warn",
                   "--hookrun", FAKE_HOOKRUN)
    assert done.exit_code == 0, done.output
    config = configuration.load(str(workspace.claude / "hookrun.toml"))
    assert [(h.name, h.event, h.matcher, h.call, dict(h.options)) for h in config.hooks] == [
        (e["name"], e["event"], e.get("matcher", ""), e["call"],
         {"mode": "warn"} if "options" in e else {}) for e in HOOKRUN_ENTRIES]
    assert set(json.loads(workspace.settings().read_text())["hooks"]) == {
        e["event"] for e in HOOKRUN_ENTRIES}
    gone = hookrun(workspace, "uninstall", "--evidence-guard", "--hookrun", FAKE_HOOKRUN)
    assert gone.exit_code == 0, gone.output
    assert os.listdir(workspace.claude) == []
