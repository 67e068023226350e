"""``hookrun import``: which hooks move, what they are called, what the files become."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError, SettingsError
from hookswarm.settings import files, importer, manifest, migration, native
from hookswarm.settings import install as installer
from hookswarm.settings.document import parse
from hookswarm.settings.entries import MARK, Entry, desired, is_hookrun_group
from hookswarm.settings.native import Native
from tests.helpers.workspace import FAKE_HOOKRUN, Workspace

REALISTIC: dict[str, Any] = {
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "UserPromptSubmit": [
            {"hooks": [{"type": "command", "command": "python3 .claude/hooks/context.py",
                        "timeout": 10}]}],
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [
                {"type": "command", "command": "python3 .claude/hooks/no_rm.py", "timeout": 5,
                 "onFailure": "block"},
                {"type": "http", "url": "http://127.0.0.1:9/check"}]},
            {"matcher": "Edit|Write", "hooks": [
                {"type": "command", "command": "python3 .claude/hooks/no_rm.py"}]}],
        "PostToolUse": [
            {"matcher": "*", "hooks": [{"type": "command", "command": "./log.sh",
                                        "statusMessage": "logging"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "./notify.sh", "async": True},
                            {"type": "command", "command": "./check.sh", "timeout": 3,
                             "onFailure": "block"}]}],
    },
}


def hook(handler: dict[str, Any], event: str = "PreToolUse") -> Native:
    return Native(event, 0, 0, "", handler)


@pytest.mark.parametrize(("command", "name"), [
    ("python3 .claude/hooks/no_rm.py", "no_rm"),
    ('"$CLAUDE_PROJECT_DIR"/.claude/hooks/guard.py', "guard"),
    ("/usr/bin/env python3 -u scripts/Check-Types.py --strict", "check-types"),
    ("FOO=1 BAR=2 ./lint.sh", "lint"),
    ("npx prettier --check .", "prettier"),
    ("uv run hooks/format.py", "format"),
    ("python -m mypkg.hooks.audit", "audit"),
    ("echo '{\"decision\": \"block\"}'", "echo"),
    ("jq -r .tool_input.command | grep -q rm", "jq"),
    ("bash", "bash"),
    ("'unbalanced quote", "unbalanced"),
    ("über.sh", "über"),
    ("'my hooks/Lint Check.sh' --fast", "lint-check"),
    ("  ", "hook"),
    # the reported names were `stop`, `stop-2` and `pretooluse`, not the scripts':
    ("uv run .claude/hooks/pre_tool_use.py", "pre_tool_use"),
    ("jq -r .tool_input.command | ~/.claude/hooks/validate-bash.sh", "validate-bash"),
    ("cat | python3 .claude/hooks/validate-bash.py", "validate-bash"),
    ('cd "$CLAUDE_PROJECT_DIR" && python3 hooks/stop_guard.py', "stop_guard"),
    ('"$CLAUDE_PROJECT_DIR"/.claude/hooks/run pretooluse', "run"),
    ("uv run --with requests hooks/format.py", "format"),
    ("python3 -W ignore hooks/audit.py", "audit"),
    ("npx tsx hooks/validate.ts --event stop", "validate"),
    ('bash -c "python3 ~/.claude/hooks/stop.py --chat"', "stop"),
    ("mytool --config /etc/team.toml", "mytool"),
])
def test_names_come_from_the_script_wherever_it_sits(command: str, name: str) -> None:
    assert native.derive_name(command) == name


HOOKS = [("Stop", "./notify.sh stop"), ("Notification", "./notify.sh note"),
         ("Stop", "./notify.sh --loud"), ("PreToolUse", "./guard.py"), ("Stop", "./lint.sh")]


def test_names_are_unique_and_do_not_depend_on_order() -> None:
    names = dict(zip(HOOKS, native.names_for(HOOKS, {"lint"}), strict=True))
    assert len(set(names.values())) == len(HOOKS)
    assert names[("Notification", "./notify.sh note")] == "notify-notification"
    assert names[("PreToolUse", "./guard.py")] == "guard"
    assert names[("Stop", "./lint.sh")] == "lint-stop"
    assert names[("Stop", "./notify.sh stop")].startswith("notify-")
    backwards = native.names_for(HOOKS[::-1], {"lint"})[::-1]
    assert backwards == list(names.values())


def test_names_are_made_unique() -> None:
    assert native.unique_name("lint", {"x"}) == "lint"
    assert native.unique_name("lint", {"lint", "lint-2"}) == "lint-3"


@pytest.mark.parametrize(("handler", "event", "reason"), [
    ({"type": "command", "command": "x"}, "PreToolUse", ""),
    ({"type": "command", "command": "x", "timeout": 5, "onFailure": "block",
      "statusMessage": "s", "async": False, "once": False}, "PreToolUse", ""),
    ({"type": "http", "url": "http://h"}, "PreToolUse", "http hooks stay native"),
    ({"type": "prompt", "prompt": "ok?"}, "Stop", "prompt hooks stay native"),
    ({"type": "agent", "prompt": "check"}, "Stop", "agent hooks stay native"),
    ({"type": "mcp_tool", "server": "s", "tool": "t"}, "Stop", "mcp_tool hooks stay native"),
    ({"type": "command", "command": "x", "async": True}, "Stop", "async hooks"),
    ({"type": "command", "command": "x", "asyncRewake": True}, "Stop", "async hooks"),
    ({"type": "command", "command": "x", "once": True}, "SessionStart", "once hooks"),
    ({"type": "command", "command": "x", "args": ["a"]}, "Stop", "exec-form"),
    ({"type": "command", "command": "x", "shell": "bash"}, "Stop", "shell 'bash'"),
    ({"type": "command", "command": "x", "if": "Bash(rm *)"}, "PreToolUse", "'if' filters"),
    ({"type": "command", "command": "x", "future": 1}, "Stop", "(future)"),
    ({"type": "command", "command": "x", "timeout": 0}, "Stop", "not a positive"),
    ({"type": "command", "command": "x", "timeout": True}, "Stop", "not a positive"),
    ({"type": "command", "command": "x", "timeout": 100000}, "Stop", "up to 86400"),
    ({"type": "command", "command": " "}, "Stop", "no command"),
    ({"type": "command", "command": "hookrun run Stop && make"}, "Stop", "call itself"),
    ({"type": "command", "command": "cd x; ./bin/hookrun-dev run Stop"}, "Stop", "call itself"),
    ({"type": "command", "command": "\ud800"}, "Stop", "not valid UTF-8"),
    ({"type": "command", "command": "x"}, "PreToolUze", "not an event hookrun knows"),
])
def test_what_stays_native(handler: dict[str, Any], event: str, reason: str) -> None:
    found = native.stays_native(hook(handler, event))
    assert (reason in found) if reason else found == ""


@pytest.mark.parametrize(("handler", "event", "seconds", "defaulted", "blocks"), [
    ({"timeout": 7, "onFailure": "block"}, "PreToolUse", 7.0, False, True),
    ({}, "PreToolUse", 600.0, True, False),
    ({}, "UserPromptSubmit", 30.0, True, False),
    ({"timeout": 2.5, "onFailure": "block"}, "Stop", 2.5, False, False),
    ({"onFailure": "ignore"}, "PreToolUse", 600.0, True, False),
])
def test_timeouts_and_on_error_carry_over(handler: dict[str, Any], event: str, seconds: float,
                                          defaulted: bool, blocks: bool) -> None:
    item = hook({"type": "command", "command": "x", **handler}, event)
    assert native.timeout(item) == (seconds, defaulted)
    assert native.blocks_on_failure(item) is blocks


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"])))
def test_toml_strings_read_back_unchanged(value: str) -> None:
    assert tomllib.loads(f"v = {migration.toml_string(value)}")["v"] == value


def entries_for(config: configuration.Config) -> tuple[Entry, ...]:
    return desired(config, executable=FAKE_HOOKRUN, config_path=None)


def make_plan(settings_value: dict[str, Any] | str, config: str | None = None,
              events: tuple[str, ...] | None = None) -> migration.Plan:
    text = settings_value if isinstance(settings_value, str) else json.dumps(
        settings_value, indent=2)
    document = parse(text, "settings.json")
    return migration.plan(document, config, config_path="hookrun.toml", events=events,
                          entries_for=entries_for, original=document)


def test_a_realistic_file_moves_its_command_hooks_in_settings_order() -> None:
    plan = make_plan(REALISTIC)
    assert [(m.name, m.event, m.matcher, m.timeout, m.on_error, len(m.sources))
            for m in plan.moved] == [
        ("context", "UserPromptSubmit", "", 10.0, "allow", 1),
        ("no_rm", "PreToolUse", "Bash|Edit|Write", 600.0, "block", 2),
        ("log", "PostToolUse", "*", 600.0, "allow", 1),
        ("check", "Stop", "", 3.0, "allow", 1),
    ]
    assert [(k.hook.event, k.hook.kind) for k in plan.kept] == [("PreToolUse", "http"),
                                                                ("Stop", "command")]
    config = configuration.parse(tomllib.loads(plan.config_after), "hookrun.toml")
    assert [h.name for h in config.hooks] == ["context", "no_rm", "log", "check"]
    assert config.hooks[1].command == "python3 .claude/hooks/no_rm.py"


def test_the_settings_keep_only_what_stays_native_plus_hookruns_entries() -> None:
    after = json.loads(make_plan(REALISTIC).settings_after)
    assert after["permissions"] == REALISTIC["permissions"]
    hooks = after["hooks"]
    assert list(hooks) == ["UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"]
    foreign = {event: [g for g in groups if not is_hookrun_group(g)]
               for event, groups in hooks.items()}
    assert foreign == {
        "UserPromptSubmit": [], "PostToolUse": [],
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "http", "url": "http://127.0.0.1:9/check"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "./notify.sh", "async": True}]}],
    }
    ours = {event: [g for g in groups if is_hookrun_group(g)] for event, groups in hooks.items()}
    assert ours["PreToolUse"] == [Entry("PreToolUse", f"'{FAKE_HOOKRUN}' run PreToolUse{MARK}", 602,
                                        "Bash|Edit|Write").group()]
    assert ours["Stop"][0]["hooks"][0]["timeout"] == 5


def test_notes_say_what_changed_in_meaning() -> None:
    moved = {m.name: m.notes for m in make_plan(REALISTIC).moved}
    assert "2 identical native copies" in moved["no_rm"][0]
    assert any("default of 600 s" in n for n in moved["log"])
    assert any("statusMessage dropped" in n for n in moved["log"])
    assert any("onFailure is ignored on Stop" in n for n in moved["check"])


@pytest.mark.parametrize(("others", "seconds"), [
    ([], 1.5),  # Claude Code's SessionEnd budget: a 3 s hook without a timeout is cut
    ([{"type": "command", "command": "./b.sh", "timeout": 10}], 10.0),  # the longest one
    ([{"type": "http", "url": "http://127.0.0.1:9/end", "timeout": 4}], 4.0),
])
def test_a_session_end_hook_without_a_timeout_gets_claude_codes_shared_budget(
        others: list[dict[str, Any]], seconds: float) -> None:
    settings = {"hooks": {"SessionEnd": [{"hooks": [
        {"type": "command", "command": "./a.sh"}, *others]}]}}
    moved = {m.name: m for m in make_plan(settings).moved}
    assert moved["a"].timeout == seconds
    assert f"Claude Code's default of {seconds:g} s" in moved["a"].notes[0]


def test_one_command_deduplicated_by_claude_code_becomes_one_hookrun_hook() -> None:
    twice = {"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]},
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh",
                                       "timeout": 30}]},
        {"hooks": [{"type": "command", "command": "./guard.sh "}]}]}}
    plan = make_plan(twice)
    assert [(m.command, m.matcher, len(m.sources)) for m in plan.moved] == [
        ("./guard.sh", "Bash", 2), ("./guard.sh ", "", 1)]
    names = [m.name for m in plan.moved]
    assert names[0] != names[1]
    assert all(n.startswith("guard-") for n in names)


def test_a_command_hookrun_already_runs_is_not_added_again() -> None:
    config = ('[[hooks]]\nname = "mine"\nevent = "PreToolUse"\nmatcher = "Bash"\n'
              'command = "./guard.sh"\n')
    plan = make_plan({"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh",
                                       "timeout": 30}]}]}}, config)
    assert [(m.name, m.existing) for m in plan.moved] == [("mine", True)]
    assert plan.config_after == config
    assert [g for g in json.loads(plan.settings_after)["hooks"]["PreToolUse"]
            if not is_hookrun_group(g)] == []


LINT = '[[hooks]]\nname = "lint"\nevent = "{event}"\n{extra}command = "python3 lint.py"\n'


@pytest.mark.parametrize(("event", "extra", "native_group", "covered", "differs"), [
    ("PreToolUse", 'matcher = "Bash"\ntimeout = 5\n',
     {"matcher": "Edit|Write", "timeout": 60, "onFailure": "block"}, False,
     "matcher ('Bash'), timeout (5 s) and on_error ('allow')"),
    ("PreToolUse", 'matcher = "Bash"\ntimeout = 60\non_error = "block"\n',
     {"matcher": "Edit|Write", "timeout": 60, "onFailure": "block"}, False, "matcher ('Bash')"),
    ("PreToolUse", "timeout = 5\n", {"matcher": "Bash", "timeout": 60}, False,
     "timeout (5 s)"),
    ("PreToolUse", 'matcher = "Bash"\n', {"matcher": "Bash", "timeout": 9,
                                            "onFailure": "block"}, False, "on_error ('allow')"),
    ("PreToolUse", "", {"matcher": "Bash"}, False, "timeout (30 s)"),
    ("PreToolUse", 'matcher = "Edit"\n', {"matcher": "", "timeout": 5}, False,
     "matcher ('Edit')"),
    ("PreToolUse", 'matcher = "Edit"\n', {"matcher": "mcp__.*", "timeout": 5}, False,
     "matcher ('Edit')"),
    ("PreToolUse", 'matcher = "*"\ntimeout = 60\non_error = "block"\n',
     {"matcher": "Edit|Write", "timeout": 60, "onFailure": "block"}, True, ""),
    ("PreToolUse", 'matcher = "Write, Edit, Bash"\n', {"matcher": "Edit|Write", "timeout": 30},
     True, ""),
    ("PreToolUse", 'matcher = "Agent"\n', {"matcher": "Task", "timeout": 30}, True, ""),
    ("PreToolUse", 'matcher = "mcp__.*"\n', {"matcher": "mcp__.*", "timeout": 30}, True, ""),
    ("Stop", "timeout = 600\n", {"matcher": "", "onFailure": "block"}, True, ""),
    ("UserPromptSubmit", 'matcher = "x"\n', {"matcher": "y"}, True, ""),
])
def test_an_existing_hook_stands_in_only_when_it_covers_the_native_copies(
        event: str, extra: str, native_group: dict[str, Any], covered: bool,
        differs: str) -> None:
    config = LINT.format(event=event, extra=extra)
    handler = {"type": "command", "command": "python3 lint.py",
               **{k: v for k, v in native_group.items() if k != "matcher"}}
    group = {"hooks": [handler]} | (
        {"matcher": native_group["matcher"]} if native_group["matcher"] else {})
    plan = make_plan({"hooks": {event: [group]}}, config)
    [item] = plan.moved
    assert (item.name, item.existing) == (("lint", True) if covered
                                          else ("lint-pre-tool-use", False))
    assert plan.config_after == config if covered else plan.config_after.startswith(config)
    if not covered:
        assert (f"hookrun.toml also runs this command as 'lint' with a different {differs}; "
                "imported as a hook of its own, so where both match, the command now runs "
                "twice") in item.notes[-1]


def test_a_command_that_only_looks_like_hookrun_run_is_moved() -> None:
    plan = make_plan({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "npm run Stop", "timeout": 5}]}]}})
    assert [(m.name, m.command) for m in plan.moved] == [("npm", "npm run Stop")]


def test_an_existing_config_is_appended_to_with_fresh_names() -> None:
    config = '[defaults]\non_error = "block"\n\n[[hooks]]\nname = "lint"\nevent = "Stop"\n' \
             'command = "true"'
    plan = make_plan({"hooks": {"Stop": [{"hooks": [{"type": "command",
                                                     "command": "./lint.sh"}]}]}}, config)
    assert plan.config_after.startswith(config + "\n\n# imported from settings.json")
    hooks = configuration.parse(tomllib.loads(plan.config_after), "h").hooks
    assert [(h.name, h.on_error) for h in hooks] == [("lint", "block"), ("lint-stop", "allow")]


def test_events_limit_what_moves() -> None:
    plan = make_plan(REALISTIC, events=("PostToolUse",))
    assert [m.name for m in plan.moved] == ["log"]
    hooks = json.loads(plan.settings_after)["hooks"]
    assert hooks["UserPromptSubmit"] == REALISTIC["hooks"]["UserPromptSubmit"]


def test_parse_events() -> None:
    assert migration.parse_events(None) is None
    assert migration.parse_events("Stop, PreToolUse,Stop") == ("Stop", "PreToolUse")
    with pytest.raises(SettingsError, match="unknown event 'Nope'"):
        migration.parse_events("Stop,Nope")
    with pytest.raises(SettingsError, match="none given"):
        migration.parse_events(",")


def test_a_group_with_keys_of_its_own_stays_with_an_empty_list() -> None:
    value = {"hooks": {"Stop": [{"x-owner": "team", "hooks": [
        {"type": "command", "command": "./a.sh"}]}]}}
    stop = json.loads(make_plan(value).settings_after)["hooks"]["Stop"]
    assert stop[0] == {"x-owner": "team", "hooks": []}
    assert is_hookrun_group(stop[1])


def test_a_second_import_has_nothing_left_to_move() -> None:
    first = make_plan(REALISTIC)
    second = make_plan(first.settings_after, first.config_after)
    assert second.moved == ()
    assert not second.changed


def test_the_layout_of_the_settings_is_kept() -> None:
    text = ('{\n    "hooks": {\n        "Stop": [\n            {"hooks": [{"type": "command", '
            '"command": "./a.sh"}, {"type": "http", "url": "u"}]}\n        ]\n    },\n'
            '    "z": "ü"\n}\n')
    after = make_plan(text).settings_after
    assert after.startswith('{\n    "hooks": {\n        "Stop": [\n            {"hooks": '
                            '[{"type": "http", "url": "u"}]},\n            {\n')
    assert after.endswith('    "z": "ü"\n}\n')


# ---------------------------------------------------------------- through the files


def run_import(ws: Workspace, *, write: bool, scope: str = "project",
               config: str | None = None, events: tuple[str, ...] | None = None
               ) -> importer.ImportReport:
    return importer.import_hooks(scope=scope, project=str(ws.project), environ=ws.environ,
                                  config_path=config, events=events, write=write,
                                  executable=FAKE_HOOKRUN)


def refusal(ws: Workspace, kind: type[Exception]) -> str:
    """The one line import refuses with, the same for a dry run and for --write."""
    messages = set()
    for write in (False, True):
        with pytest.raises(kind) as caught:
            run_import(ws, write=write)
        messages.add(str(caught.value))
    [message] = messages
    return message


def test_a_dry_run_changes_nothing(workspace: Workspace) -> None:
    path = workspace.write_settings(json.dumps(REALISTIC))
    report = run_import(workspace, write=False)
    assert report.plan.changed
    assert not report.written.changed
    assert path.read_text() == json.dumps(REALISTIC)
    assert os.listdir(workspace.claude) == ["settings.json"]


def test_write_moves_the_hooks_and_keeps_a_backup(workspace: Workspace) -> None:
    path = workspace.write_settings(json.dumps(REALISTIC, indent=2))
    report = run_import(workspace, write=True)
    assert report.config_written
    assert report.written.backup_written
    assert json.loads(path.read_text()) == json.loads(report.plan.settings_after)
    config = configuration.load(str(workspace.claude / "hookrun.toml"))
    assert [h.name for h in config.hooks] == ["context", "no_rm", "log", "check"]
    assert Path(report.written.backup).read_text() == json.dumps(REALISTIC, indent=2)
    again = run_import(workspace, write=True)
    assert not again.plan.changed
    assert not again.config_written


def test_a_failed_settings_write_puts_the_config_back(workspace: Workspace,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.write_settings(json.dumps(REALISTIC))
    config = workspace.config('[[hooks]]\nname = "a"\nevent = "Stop"\ncommand = "true"\n')
    before = config.read_text()
    real_write = files.write

    def failing(path: str, data: bytes, *, like: str | None = None) -> None:
        if path.endswith("settings.json"):
            raise SettingsError("disk full")
        real_write(path, data, like=like)

    monkeypatch.setattr(files, "write", failing)
    with pytest.raises(SettingsError, match="disk full"):
        run_import(workspace, write=True)
    assert config.read_text() == before


def test_copies_in_other_settings_files_are_pointed_out(workspace: Workspace) -> None:
    workspace.write_settings(json.dumps(REALISTIC))
    workspace.write_settings(json.dumps({"hooks": {"PostToolUse": [
        {"hooks": [{"type": "command", "command": "./log.sh"}]}]}}), "settings.local.json")
    notes = run_import(workspace, write=False).plan.notes
    assert len(notes) == 1
    assert ".claude/settings.local.json also runs './log.sh' on PostToolUse" in notes[0]


def test_user_scope_needs_an_explicit_config(workspace: Workspace) -> None:
    with pytest.raises(SettingsError, match="pass --config"):
        run_import(workspace, write=False, scope="user")
    (workspace.home / ".claude").mkdir()
    (workspace.home / ".claude" / "settings.json").write_text(json.dumps(REALISTIC))
    config = workspace.home / ".claude" / "hookrun.toml"
    run_import(workspace, write=True, scope="user", config=str(config))
    after = json.loads((workspace.home / ".claude" / "settings.json").read_text())
    command = after["hooks"]["Stop"][-1]["hooks"][0]["command"]
    assert command == f"'{FAKE_HOOKRUN}' run Stop --config {config}{MARK}"
    assert not (workspace.claude / "hookrun.toml").exists()


def test_a_broken_config_stops_the_import(workspace: Workspace) -> None:
    path = workspace.write_settings(json.dumps(REALISTIC))
    workspace.config("[[hooks]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        run_import(workspace, write=True)
    assert path.read_text() == json.dumps(REALISTIC)


def test_import_keeps_a_native_hooks_matcher_timeout_and_on_error(workspace: Workspace) -> None:
    """The reported case: hookrun.toml runs lint on Bash for 5 s; the native copy on
    Edit|Write for 60 s, fail-closed. Both must still run where they ran before."""
    workspace.config(LINT.format(event="PreToolUse", extra='matcher = "Bash"\ntimeout = 5\n'))
    workspace.write_settings(json.dumps({"hooks": {"PreToolUse": [{"matcher": "Edit|Write",
        "hooks": [{"type": "command", "command": "python3 lint.py", "timeout": 60,
                   "onFailure": "block"}]}]}}))
    run_import(workspace, write=True)
    config = configuration.load(str(workspace.claude / "hookrun.toml"))
    assert [(h.name, h.matcher, h.timeout, h.on_error) for h in config.hooks] == [
        ("lint", "Bash", 5.0, "allow"), ("lint-pre-tool-use", "Edit|Write", 60.0, "block")]
    [group] = json.loads(workspace.settings().read_text())["hooks"]["PreToolUse"]
    assert is_hookrun_group(group)
    assert group["matcher"] == "Bash|Edit|Write"
    assert group["hooks"][0]["timeout"] >= 62


@pytest.mark.parametrize("hooks", [
    'hooks = [{name = "x", event = "Stop", command = "y"}]\n',
    'hooks = [\n  {name = "x", event = "Stop", command = "y"},\n]  # inline',
    "hooks = []\n",
])
def test_an_inline_hooks_array_is_named_as_the_obstacle(workspace: Workspace, hooks: str) -> None:
    text = f"{hooks}\n\n[defaults]\ntimeout = 9\n"
    config = workspace.config(text)
    path = workspace.write_settings(json.dumps(REALISTIC))
    listing = sorted(os.listdir(workspace.claude))
    assert refusal(workspace, ConfigError) == (
        f"{config}: key 'hooks': the hooks are an inline array (hooks = [...]), and import "
        "can only append [[hooks]] tables; convert the inline array to [[hooks]] tables "
        "first, then run hookrun import again (nothing was changed)")
    assert config.read_text() == text
    assert path.read_text() == json.dumps(REALISTIC)
    assert sorted(os.listdir(workspace.claude)) == listing


def test_an_inline_hooks_array_is_fine_when_nothing_is_appended(workspace: Workspace) -> None:
    workspace.config('hooks = [{name = "x", event = "Stop", command = "y"}]\n')
    workspace.write_settings(json.dumps({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "y", "timeout": 30}]}]}}))
    report = run_import(workspace, write=True)
    assert [(m.name, m.existing) for m in report.plan.moved] == [("x", True)]


# ---------------------------------------------------------------- undone by uninstall


def run_uninstall(ws: Workspace, *, keep_imported: bool = False) -> installer.Report:
    return installer.uninstall(scope="project", project=str(ws.project), environ=ws.environ,
                               keep_imported=keep_imported)


def run_install(ws: Workspace) -> installer.Report:
    return installer.install(scope="project", project=str(ws.project), environ=ws.environ,
                             config_path=None, executable=FAKE_HOOKRUN)


def sidecars(ws: Workspace) -> list[str]:
    return sorted(p for p in os.listdir(ws.claude) if p != "settings.json")


def test_uninstall_puts_every_imported_hook_back_byte_for_byte(workspace: Workspace) -> None:
    """The reported case: after import --write and install, uninstall left 1 of the command
    hooks in settings.json."""
    original = json.dumps(REALISTIC, indent=4) + "\n"
    path = workspace.write_settings(original)
    run_import(workspace, write=True)
    run_install(workspace)
    report = run_uninstall(workspace)
    assert path.read_text() == original
    assert (report.restored, report.regrouped) == (5, 0)
    assert sidecars(workspace) == []  # hookrun.toml, which import made, and backup, manifest


def test_an_existing_hookrun_toml_gets_its_own_text_back(workspace: Workspace) -> None:
    config = workspace.config('[defaults]\ntimeout = 9\n\n[[hooks]]\nname = "a"\n'
                              'event = "Stop"\ncommand = "true"\n')
    before = config.read_text()
    path = workspace.write_settings(json.dumps(REALISTIC))
    run_import(workspace, write=True)
    assert config.read_text() != before
    run_uninstall(workspace)
    assert config.read_text() == before
    assert path.read_text() == json.dumps(REALISTIC)


def test_keep_imported_leaves_the_hooks_in_hookrun_toml(workspace: Workspace) -> None:
    workspace.write_settings(json.dumps(REALISTIC))
    run_import(workspace, write=True)
    config = (workspace.claude / "hookrun.toml").read_text()
    report = run_uninstall(workspace, keep_imported=True)
    assert report.restored == 0
    hooks = json.loads(workspace.settings().read_text())["hooks"]
    assert not any(is_hookrun_group(g) for groups in hooks.values() for g in groups)
    assert hooks["Stop"] == [{"hooks": [{"type": "command", "command": "./notify.sh",
                                         "async": True}]}]
    assert (workspace.claude / "hookrun.toml").read_text() == config
    assert not os.path.exists(manifest.path_of(str(workspace.settings())))


def test_hooks_whose_place_changed_still_come_back(workspace: Workspace) -> None:
    path = workspace.write_settings(json.dumps(REALISTIC, indent=2))
    run_import(workspace, write=True)
    edited = json.loads(path.read_text())
    del edited["hooks"]["PreToolUse"]  # the http hook's group, and hookrun's entry, by hand
    edited["hooks"]["Stop"].insert(0, {"hooks": [{"type": "command", "command": "./new.sh"}]})
    path.write_text(json.dumps(edited, indent=2))
    report = run_uninstall(workspace)
    hooks = json.loads(path.read_text())["hooks"]
    commands = sorted((event, h.get("command", "")) for event, groups in hooks.items()
                      for g in groups for h in g["hooks"])
    assert ("PreToolUse", "python3 .claude/hooks/no_rm.py") in commands
    assert ("Stop", "./check.sh") in commands
    assert ("Stop", "./new.sh") in commands
    assert sum(c == ("PreToolUse", "python3 .claude/hooks/no_rm.py") for c in commands) == 2
    assert (report.restored, report.regrouped) == (2, 3)
    assert not any(is_hookrun_group(g) for groups in hooks.values() for g in groups)


def test_a_changed_hookrun_toml_is_left_alone_and_named(workspace: Workspace) -> None:
    workspace.write_settings(json.dumps(REALISTIC))
    run_import(workspace, write=True)
    config = workspace.claude / "hookrun.toml"
    config.write_text(config.read_text().replace("timeout = 3", "timeout = 4"))
    report = run_uninstall(workspace)
    assert report.notes == (f"{os.path.realpath(config)} changed since the import, so the "
                            "imported hooks (context, no_rm, log, check) stay in it: remove "
                            "them by hand, or they run twice once hookrun is installed again",)
    assert "timeout = 4" in config.read_text()


LONE = '{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./ok.sh"}]}], ' \
       '"PreToolUse": [{"matcher": "Bash|\\ud800", "hooks": [{"type": "command", ' \
       '"command": "./guard.sh"}]}]}}'


def test_a_lone_surrogate_in_a_matcher_is_refused_with_one_line(workspace: Workspace) -> None:
    """The reported crash: UnicodeEncodeError from import --write, on valid JSON."""
    path = workspace.write_settings(LONE)
    assert refusal(workspace, SettingsError) == (
        f"{path}: hooks.PreToolUse[0].matcher holds '\\ud800', which is not valid "
        "Unicode, so hookrun cannot write it back as it was read; fix it in the file, or "
        "leave PreToolUse out with --events (nothing was changed)")
    assert path.read_text() == LONE
    assert os.listdir(workspace.claude) == ["settings.json"]
    assert [m.name for m in run_import(workspace, write=True, events=("Stop",)).plan.moved] == [
        "ok"]


def test_lone_surrogates_that_are_not_moved_keep_their_bytes(workspace: Workspace) -> None:
    text = ('{"x": "\\udc80", "hooks": {"Stop": [{"hooks": [{"type": "command", '
            '"command": "./ok.sh"}, {"type": "http", "url": "http://h/\\ud800"}]}]}}')
    path = workspace.write_settings(text)
    run_import(workspace, write=True)
    assert '"x": "\\udc80"' in path.read_text()
    assert '"url": "http://h/\\ud800"' in path.read_text()
    run_uninstall(workspace)
    assert path.read_text() == text


def test_without_the_manifest_the_report_says_the_imported_hooks_stopped(
        workspace: Workspace) -> None:
    workspace.write_settings(json.dumps(REALISTIC))
    run_import(workspace, write=True)
    os.unlink(manifest.path_of(str(workspace.settings())))
    config = workspace.claude / "hookrun.toml"
    report = run_uninstall(workspace)
    assert report.restored == 0
    assert report.notes == (f"{config} holds hooks `hookrun import` moved, and there is no "
                            "record of where they came from: they no longer run; run hookrun "
                            "install again, or move them back into the settings file by hand",)
