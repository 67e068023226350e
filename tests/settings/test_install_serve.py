"""``hookrun install --serve``: http entries for the warm server, the token kept out of shared
settings, and uninstall (or a plain install) putting the files back."""

from __future__ import annotations

import json
import socket
from typing import Any

from hookswarm.executor import serve_start
from hookswarm.settings import install as installer
from hookswarm.settings import serving
from hookswarm.settings.entries import MARK, SERVER_START_TIMEOUT
from tests.helpers.workspace import FAKE_HOOKRUN, Workspace

MIXED = """
    [[hooks]]
    name = "guard"
    event = "PreToolUse"
    matcher = "Bash"
    command = "true"
    on_error = "block"

    [[hooks]]
    name = "context"
    event = "UserPromptSubmit"
    command = "echo hi"

    [[hooks]]
    name = "compact"
    event = "PreCompact"
    command = "true"

    [[hooks]]
    name = "more"
    event = "Stop"
    command = "true"
    on_error = "block"
"""
LOCAL = '{\n  "model": "opus"\n}\n'


def install(ws: Workspace, *, serve: bool = True, scope: str = "project") -> installer.Report:
    return installer.install(scope=scope, project=str(ws.project), environ=ws.environ,
                             config_path=None, executable=FAKE_HOOKRUN, serve=serve)


def uninstall(ws: Workspace) -> installer.Report:
    return installer.uninstall(scope="project", project=str(ws.project), environ=ws.environ)


def handlers(ws: Workspace, name: str = "settings.json") -> dict[str, dict[str, Any]]:
    hooks = json.loads(ws.settings(name).read_text())["hooks"]
    return {event: groups[0]["hooks"][0] for event, groups in hooks.items()}


def test_http_entries_where_an_http_answer_says_everything(workspace: Workspace) -> None:
    workspace.config(MIXED)
    install(workspace)
    entries = handlers(workspace)
    port = serving.stored_port(str(workspace.settings()))
    assert {e: h["type"] for e, h in entries.items()} == {
        "PreToolUse": "http", "UserPromptSubmit": "http", "Stop": "http",
        "PreCompact": "command",  # blocks only with exit 2
        "SessionStart": "command"}  # Claude Code never sends SessionStart to an http hook
    assert entries["PreToolUse"]["url"] == serving.url(port, "PreToolUse")
    urls = [h["url"] for h in entries.values() if h["type"] == "http"]
    assert len(set(urls)) == len(urls) == 3  # one URL per event
    assert entries["PreToolUse"]["headers"] == {"Authorization": "Bearer $HOOKRUN_TOKEN"}
    assert entries["PreToolUse"]["allowedEnvVars"] == ["HOOKRUN_TOKEN"]
    assert entries["SessionStart"]["command"] == (
        f"'{FAKE_HOOKRUN}' serve --session-start --port {port}{MARK}")
    assert entries["PreCompact"]["command"] == f"'{FAKE_HOOKRUN}' run PreCompact{MARK}"


def test_on_error_block_becomes_on_failure_block_where_claude_code_honours_it(
        workspace: Workspace) -> None:
    workspace.config(MIXED)
    install(workspace)
    entries = handlers(workspace)
    assert entries["PreToolUse"]["onFailure"] == "block"
    assert "onFailure" not in entries["UserPromptSubmit"]
    assert "onFailure" not in entries["Stop"]  # ignored on Stop: fail open there


def test_the_token_goes_to_the_local_file_not_the_shared_one(workspace: Workspace) -> None:
    workspace.config(MIXED)
    workspace.write_settings(LOCAL, "settings.local.json")
    install(workspace)
    token = serving.stored_token(str(workspace.settings("settings.local.json")))
    assert len(token) >= 32
    assert token not in workspace.settings().read_text()
    assert json.loads(workspace.settings("settings.local.json").read_text())["model"] == "opus"


def test_a_reinstall_keeps_port_and_token(workspace: Workspace) -> None:
    workspace.config(MIXED)
    install(workspace)
    local = workspace.settings("settings.local.json").read_bytes()
    shared = workspace.settings().read_bytes()
    again = install(workspace)
    assert not again.written.changed
    assert workspace.settings("settings.local.json").read_bytes() == local
    assert workspace.settings().read_bytes() == shared


def test_uninstall_restores_both_files(workspace: Workspace) -> None:
    workspace.config(MIXED)
    workspace.write_settings(LOCAL, "settings.local.json")
    install(workspace)
    uninstall(workspace)
    assert workspace.settings("settings.local.json").read_text() == LOCAL
    assert not workspace.settings().exists()  # install created it


def test_a_token_file_install_created_goes_with_uninstall(workspace: Workspace) -> None:
    workspace.config(MIXED)
    install(workspace)
    uninstall(workspace)
    assert not workspace.settings("settings.local.json").exists()


def test_a_plain_install_after_serve_restores_command_entries(workspace: Workspace) -> None:
    workspace.config(MIXED)
    workspace.write_settings(LOCAL, "settings.local.json")
    install(workspace)
    install(workspace, serve=False)
    entries = handlers(workspace)
    assert {h["type"] for h in entries.values()} == {"command"}
    assert set(entries) == {"PreToolUse", "UserPromptSubmit", "PreCompact", "Stop"}
    assert workspace.settings("settings.local.json").read_text() == LOCAL


def test_local_scope_keeps_entries_and_token_in_one_file(workspace: Workspace) -> None:
    workspace.config(MIXED)
    install(workspace, scope="local")
    local = str(workspace.settings("settings.local.json"))
    assert serving.stored_token(local)
    assert serving.stored_port(local)
    assert not workspace.settings().exists()


def test_the_port_is_found_with_only_session_start_installed(workspace: Workspace) -> None:
    workspace.config('[[hooks]]\nname = "s"\nevent = "SessionStart"\ncommand = "true"\n')
    install(workspace)
    entries = handlers(workspace)
    assert set(entries) == {"SessionStart"}
    port = serving.stored_port(str(workspace.settings()))
    assert f"--port {port} " in entries["SessionStart"]["command"]
    assert serving.find(project=str(workspace.project), environ=workspace.environ)[0] == port


def test_a_user_scope_install_starts_one_server_for_every_project(
        workspace: Workspace) -> None:
    config = workspace.home / ".claude" / "hookrun.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncommand = "true"\n')
    installer.install(scope="user", project=str(workspace.project), environ=workspace.environ,
                      config_path=str(config), executable=FAKE_HOOKRUN, serve=True)
    user_file = workspace.home / ".claude" / "settings.json"
    command = json.loads(user_file.read_text())["hooks"]["SessionStart"][0]["hooks"][0]["command"]
    port = serving.stored_port(str(user_file))
    assert command == (f"'{FAKE_HOOKRUN}' serve --session-start --port {port} --config "
                       f"{config} --user{MARK}")
    assert serving.stored_token(str(user_file))
    assert not workspace.settings("settings.local.json").exists()
    again = installer.install(scope="user", project=str(workspace.project),
                              environ=workspace.environ, config_path=str(config),
                              executable=FAKE_HOOKRUN, serve=True)
    assert not again.written.changed  # the entry is recognised as install's own


def test_session_start_gets_the_server_start_on_top_of_its_hooks_time(
        workspace: Workspace) -> None:
    # Starting the server (waiting for another session's start included) and then the
    # SessionStart hooks must both fit, or Claude Code ends the entry and drops their context.
    workspace.config('[[hooks]]\nname = "s"\nevent = "SessionStart"\ncommand = "true"\n'
                     'timeout = 20\n')
    install(workspace)
    assert handlers(workspace)["SessionStart"]["timeout"] == 22 + SERVER_START_TIMEOUT
    assert serve_start.START_WITHIN + serve_start.PROBE_WITHIN <= SERVER_START_TIMEOUT


def test_the_installed_port_is_outside_the_range_client_connections_take() -> None:
    # A client socket on the port, live or for a minute in TIME_WAIT, keeps the server from
    # binding it: the session's http hooks would all fail open.
    with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
        low, high = map(int, handle.read().split())
    assert not low <= serving.free_port() <= high


def test_a_port_in_use_is_never_chosen() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert serving.free_port(choose=lambda _low, _high: port) != port
