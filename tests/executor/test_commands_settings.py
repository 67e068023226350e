"""``hookrun install``, ``uninstall`` and ``import``: text for people, a versioned JSON envelope,
exit codes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.settings.entries import MARK
from tests.helpers.verbs import hookrun
from tests.helpers.workspace import FAKE_HOOKRUN, Workspace

if TYPE_CHECKING:
    from click.testing import Result

NATIVE = {"hooks": {
    "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "./ctx.sh", "timeout": 4}]}],
    "Notification": [{"hooks": [{"type": "http", "url": "http://127.0.0.1:9/n"}]}],
}}


def envelope(result: Result, command: str) -> dict[str, Any]:
    body = json.loads(result.stdout)
    assert (body["version"], body["command"]) == (1, command)
    return body  # type: ignore[no-any-return]


def test_install_then_uninstall_in_text(configured: Workspace) -> None:
    done = hookrun(configured, "install", "--hookrun", FAKE_HOOKRUN)
    assert done.exit_code == 0
    assert done.stdout.splitlines() == [
        "hookrun install: .claude/settings.json (project scope)",
        f"  add     PreToolUse        timeout 7  matcher Bash  '{FAKE_HOOKRUN}' run "
        f"PreToolUse{MARK}",
        f"  add     UserPromptSubmit  timeout 12  '{FAKE_HOOKRUN}' run UserPromptSubmit{MARK}",
    ]
    again = hookrun(configured, "install", "--hookrun", FAKE_HOOKRUN)
    assert again.stdout.strip() == ("hookrun install: .claude/settings.json (project scope) is "
                                    "up to date (PreToolUse, UserPromptSubmit)")
    gone = hookrun(configured, "uninstall")
    assert gone.stdout.splitlines()[0] == (
        "hookrun uninstall: removed hookrun's entries for PreToolUse, UserPromptSubmit from "
        ".claude/settings.json")
    assert "deleted" in gone.stdout


def test_install_json(configured: Workspace) -> None:
    result = hookrun(configured, "install", "--scope", "local", "--json",
                     "--hookrun", FAKE_HOOKRUN)
    body = envelope(result, "install")
    assert body["ok"]
    assert body["changed"]
    assert body["scope"] == "local"
    assert body["settings"].endswith(".claude/settings.local.json")
    assert body["entries"][0] == {"event": "PreToolUse", "action": "add", "matcher": "Bash",
                                  "command": f"'{FAKE_HOOKRUN}' run PreToolUse{MARK}",
                                  "timeout": 7}
    undone = envelope(hookrun(configured, "uninstall", "--scope", "local", "--json"),
                      "uninstall")
    assert undone["deleted"]
    assert [e["action"] for e in undone["entries"]] == ["remove"] * 2


def test_import_shows_a_plan_and_writes_only_when_asked(workspace: Workspace) -> None:
    path = workspace.write_settings(json.dumps(NATIVE, indent=2))
    plan = hookrun(workspace, "import", "--hookrun", FAKE_HOOKRUN)
    assert plan.exit_code == 0
    text = plan.stdout
    assert text.startswith("hookrun import (dry run: nothing was written; add --write to apply)")
    for line in ["moves 1 command hook(s), in settings order:",
                 "  ctx  UserPromptSubmit  timeout 4: ./ctx.sh",
                 "stays native, 1 hook(s):",
                 "  Notification: http http://127.0.0.1:9/n",
                 "appends to .claude/hookrun.toml:",
                 '  name = "ctx"',
                 f"  add     UserPromptSubmit  timeout 6  '{FAKE_HOOKRUN}' run UserPromptSubmit"
                 f"{MARK}"]:
        assert line in text.splitlines()
    assert path.read_text() == json.dumps(NATIVE, indent=2)
    written = envelope(hookrun(workspace, "import", "--write", "--json",
                               "--hookrun", FAKE_HOOKRUN), "import")
    assert written["write"]
    assert written["written"]["settings"]
    assert written["written"]["config"]
    assert [m["name"] for m in written["moved"]] == ["ctx"]
    assert written["kept"][0]["reason"].startswith("http hooks stay native")
    assert (workspace.claude / "hookrun.toml").read_text() == written["appended"]


@pytest.mark.parametrize("args", [("install",), ("uninstall",), ("import", "--write")])
def test_a_broken_settings_file_exits_2_with_one_line(configured: Workspace,
                                                      args: tuple[str, ...]) -> None:
    configured.write_settings('{"hooks": {,}}')
    result = hookrun(configured, *args, "--hookrun", FAKE_HOOKRUN) if args[0] != "uninstall" \
        else hookrun(configured, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"hookrun {args[0]}: ")
    assert "settings.json: line 1, column 12: not valid JSON" in result.stderr
    body = envelope(hookrun(configured, *args, "--json"), args[0])
    assert body["ok"] is False
    assert "line 1, column 12" in body["error"]


def test_unknown_events_exit_2(workspace: Workspace) -> None:
    result = hookrun(workspace, "import", "--events", "PreToolUse,Bogus")
    assert result.exit_code == 2
    assert "unknown event 'Bogus'" in result.stderr


@pytest.mark.parametrize("executable", ["/opt/tools/hookrun-dev", "/opt/tools/my hookrun.sh"])
def test_an_entry_with_any_hookrun_path_is_recognised(configured: Workspace,
                                                      executable: str) -> None:
    first = envelope(hookrun(configured, "install", "--json", "--hookrun", executable),
                     "install")
    again = envelope(hookrun(configured, "install", "--json", "--hookrun", executable),
                     "install")
    assert first["changed"]
    assert not again["changed"]
    settings = json.loads((configured.project / ".claude" / "settings.json").read_text())
    assert all(len(groups) == 1 for groups in settings["hooks"].values())
    undone = envelope(hookrun(configured, "uninstall", "--json"), "uninstall")
    assert [e["action"] for e in undone["entries"]] == ["remove"] * 2
