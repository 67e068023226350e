"""``hookrun install`` / ``uninstall`` on real files: entries, backup, lock, modes, symlinks."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.errors import ConfigError, SettingsError
from hookswarm.settings import files, manifest
from hookswarm.settings import install as installer
from hookswarm.settings.entries import MARK, hookrun_executable
from hookswarm.settings.merge import ADD, KEEP, REMOVE, UPDATE
from tests.helpers.workspace import FAKE_HOOKRUN, Workspace

if TYPE_CHECKING:
    from collections.abc import Iterator

FOREIGN = """{
    "model": "opus",
    "hooks": {
        "PreToolUse": [
            {"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --check"}]}
        ]
    },
    "env": {"GREETING": "grüß dich ✓"}
}
"""


def install(ws: Workspace, scope: str = "project", **kw: str) -> installer.Report:
    return installer.install(scope=scope, project=str(ws.project), environ=ws.environ,
                             config_path=kw.get("config"), executable=kw.get("exe", FAKE_HOOKRUN))


def uninstall(ws: Workspace, scope: str = "project") -> installer.Report:
    return installer.uninstall(scope=scope, project=str(ws.project), environ=ws.environ)


def entry(event: str, timeout: int, matcher: str = "") -> dict[str, object]:
    handler = {"type": "command", "command": f"'{FAKE_HOOKRUN}' run {event}{MARK}",
               "timeout": timeout}
    return {"matcher": matcher, "hooks": [handler]} if matcher else {"hooks": [handler]}


def test_install_adds_one_entry_per_event_after_the_other_tools_hooks(
        configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    report = install(configured)
    value = json.loads(path.read_text())
    assert value["hooks"]["PreToolUse"] == [
        {"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --check"}]},
        entry("PreToolUse", 7, "Bash")]
    assert value["hooks"]["UserPromptSubmit"] == [entry("UserPromptSubmit", 12)]
    assert list(value) == ["model", "hooks", "env"]
    assert "grüß dich ✓" in path.read_text()  # not \u-escaped
    assert [(c.event, c.action) for c in report.changes] == [("PreToolUse", ADD),
                                                             ("UserPromptSubmit", ADD)]
    assert report.written.backup_written
    assert Path(report.written.backup).read_text() == FOREIGN


def test_the_written_layout_matches_the_file(configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    install(configured)
    text = path.read_text()
    assert text.startswith(FOREIGN.split('            {"matcher": "Edit"')[0])
    assert ('            {"matcher": "Edit", "hooks": [{"type": "command", "command": '
            '"prettier --check"}]},\n            {\n                "matcher": "Bash",\n'
            '                "hooks": [\n                    {\n') in text
    assert text.endswith('    "env": {"GREETING": "grüß dich ✓"}\n}\n')


def test_a_second_install_changes_no_byte_and_keeps_the_first_backup(
        configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    install(configured)
    installed, stamp = path.read_bytes(), path.stat().st_mtime_ns
    again = install(configured)
    assert not again.written.changed
    assert not again.written.backup_written
    assert [c.action for c in again.changes] == [KEEP, KEEP]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (installed, stamp)
    configured.config('[[hooks]]\nname = "s"\nevent = "Stop"\ncommand = "true"\n')
    install(configured)
    assert Path(files.backup_path(str(path))).read_text() == FOREIGN


def test_a_changed_config_updates_adds_and_removes_entries(configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    install(configured)
    configured.config("""
        [[hooks]]
        name = "guard"
        event = "PreToolUse"
        matcher = "Bash"
        command = "true"
        timeout = 5
        [[hooks]]
        name = "edits"
        event = "PreToolUse"
        matcher = "Edit|Write"
        command = "true"
        timeout = 40
        [[hooks]]
        name = "bye"
        event = "Stop"
        command = "true"
    """)
    report = install(configured)
    assert [(c.event, c.action) for c in report.changes] == [
        ("UserPromptSubmit", REMOVE), ("PreToolUse", UPDATE), ("Stop", ADD)]
    hooks = json.loads(path.read_text())["hooks"]
    assert hooks["PreToolUse"][1] == entry("PreToolUse", 42, "Bash|Edit|Write")
    assert hooks["Stop"] == [entry("Stop", 32)]
    assert "UserPromptSubmit" not in hooks
    uninstall(configured)
    assert path.read_text() == FOREIGN


HAND_WRITTEN = """{
  "hooks": {
    "SessionStart": [{"hooks": [{"type": "command",
      "command": "hookrun run SessionStart --config /team/shared-hookrun.toml"}]}],
    "PreToolUse": [{"hooks": [{"type": "command", "command": "hookrun run PreToolUse"}]}]
  }
}
"""


def test_hand_written_hookrun_entries_are_never_touched(configured: Workspace) -> None:
    """The reported case: install dropped the team's entry without a backup, and uninstall
    then deleted the file."""
    path = configured.write_settings(HAND_WRITTEN)
    report = install(configured)
    hooks = json.loads(path.read_text())["hooks"]
    assert hooks["SessionStart"] == json.loads(HAND_WRITTEN)["hooks"]["SessionStart"]
    assert hooks["PreToolUse"] == [json.loads(HAND_WRITTEN)["hooks"]["PreToolUse"][0],
                                   entry("PreToolUse", 7, "Bash")]
    assert report.written.backup_written
    assert Path(report.written.backup).read_text() == HAND_WRITTEN
    assert report.notes == ("hooks.PreToolUse[0] runs 'hookrun run PreToolUse', written by "
                            "hand: left as it is; if it runs the same hookrun.toml, its hooks "
                            "run twice, so remove it",)
    configured.config('[[hooks]]\nname = "s"\nevent = "Stop"\ncommand = "true"\n')
    assert [(c.event, c.action) for c in install(configured).changes] == [
        ("PreToolUse", REMOVE), ("UserPromptSubmit", REMOVE), ("Stop", ADD)]
    assert json.loads(path.read_text())["hooks"]["SessionStart"] == hooks["SessionStart"]
    uninstall(configured)
    assert path.read_text() == HAND_WRITTEN


def test_every_removing_edit_of_a_file_hookrun_did_not_create_makes_a_backup_first(
        configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    install(configured)
    backup = Path(files.backup_path(str(path)))
    backup.unlink()
    installed = path.read_text()
    report = uninstall(configured)
    assert report.written.backup_written
    assert backup.read_text() == installed
    assert path.read_text() == FOREIGN


def test_a_file_that_only_looks_like_what_install_makes_is_not_deleted(
        configured: Workspace) -> None:
    path = configured.write_settings("{}\n")
    install(configured)
    Path(files.backup_path(str(path))).unlink()
    assert not uninstall(configured).written.deleted
    assert path.read_text() == "{}\n"


def test_uninstall_restores_the_exact_bytes_and_drops_the_backup(configured: Workspace) -> None:
    original = '{"hooks":{"Stop":[]} ,\r\n "x": "\\u00fc"}'
    path = configured.write_settings(original)
    install(configured)
    report = uninstall(configured)
    assert path.read_bytes() == original.encode()
    assert report.written.backup_removed
    assert not os.path.exists(files.backup_path(str(path)))


def test_uninstall_keeps_later_edits_and_the_backup(configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    install(configured)
    path.write_text(path.read_text().replace('"opus"', '"sonnet"'))
    report = uninstall(configured)
    assert path.read_text() == FOREIGN.replace('"opus"', '"sonnet"')
    assert report.written.backup
    assert not report.written.backup_removed


def test_a_file_install_created_is_deleted_again(configured: Workspace) -> None:
    install(configured)
    path = configured.settings()
    assert json.loads(path.read_text())["hooks"]["UserPromptSubmit"] == [
        entry("UserPromptSubmit", 12)]
    assert not os.path.exists(files.backup_path(str(path)))
    assert uninstall(configured).written.deleted
    assert not path.exists()


def test_uninstall_without_entries_or_file_changes_nothing(configured: Workspace) -> None:
    assert uninstall(configured).changes == ()
    path = configured.write_settings(FOREIGN)
    assert not uninstall(configured).written.changed
    assert path.read_text() == FOREIGN
    assert sorted(os.listdir(configured.claude)) == ["hookrun.toml", "settings.json"]


@pytest.mark.parametrize(("scope", "name"), [("project", "settings.json"),
                                             ("local", "settings.local.json")])
def test_project_and_local_scopes(configured: Workspace, scope: str, name: str) -> None:
    install(configured, scope)
    assert "UserPromptSubmit" in json.loads(configured.settings(name).read_text())["hooks"]
    assert sorted(p for p in os.listdir(configured.claude) if p.startswith("settings")) == [
        name, name + manifest.SUFFIX]  # the manifest says install made the file


def test_in_a_git_work_tree_backup_and_manifest_stay_out_of_git_status(
        configured: Workspace) -> None:
    (configured.project / ".git").mkdir()
    configured.write_settings(FOREIGN)
    install(configured)
    assert sorted(p.name for p in configured.claude.iterdir()) == ["hookrun.toml",
                                                                    "settings.json"]
    kept = configured.project / ".swarm" / "settings"
    assert [p.name for p in kept.iterdir()] == ["settings.json" + files.BACKUP_SUFFIX]
    assert manifest.path_of(str(configured.settings())) == str(
        kept / ("settings.json" + manifest.SUFFIX))
    assert (configured.project / ".swarm" / ".gitignore").read_text() == "*\n"
    uninstall(configured)
    assert configured.settings().read_text() == FOREIGN
    assert list(kept.iterdir()) == []


def test_user_scope_follows_claude_config_dir_then_home(configured: Workspace) -> None:
    install(configured, "user")
    assert (configured.home / ".claude" / "settings.json").exists()
    configured.environ["CLAUDE_CONFIG_DIR"] = str(configured.home / "elsewhere")
    install(configured, "user")
    assert (configured.home / "elsewhere" / "settings.json").exists()


def test_user_entries_without_a_config_are_silent_in_projects_without_hookrun_toml(
        configured: Workspace, tmp_path: Path) -> None:
    exe = hookrun_executable()
    install(configured, "user", exe=exe)
    settings = configured.home / ".claude" / "settings.json"
    command = json.loads(settings.read_text())["hooks"]["UserPromptSubmit"][0]["hooks"][0][
        "command"]
    assert command == f"{shlex.quote(exe)} run UserPromptSubmit --if-configured{MARK}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run_entry(command, elsewhere, configured.environ) == (0, "", "")
    code, out, _ = run_entry(command, configured.project, configured.environ)
    assert code == 0
    assert "hi" in out
    uninstall(configured, "user")  # install's own entries: removed, with the file it made
    assert not settings.exists()


def run_entry(command: str, project: Path, environ: dict[str, str]) -> tuple[int, str, str]:
    payload = {"hook_event_name": "UserPromptSubmit", "prompt": "go", "session_id": "s",
               "cwd": str(project)}
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=project, input=json.dumps(payload),
                          env={**environ, "CLAUDE_PROJECT_DIR": str(project)},
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def test_an_explicit_config_is_passed_on_to_hookrun_run(workspace: Workspace,
                                                        tmp_path: Path) -> None:
    config = tmp_path / "my hooks.toml"
    config.write_text('[[hooks]]\nname = "s"\nevent = "Stop"\ncommand = "true"\n')
    install(workspace, config=str(config))
    command = json.loads(workspace.settings().read_text())["hooks"]["Stop"][0]["hooks"][0][
        "command"]
    assert command == f"'{FAKE_HOOKRUN}' run Stop --config '{config}'{MARK}"


def test_the_mode_is_kept_and_the_backup_gets_it_too(configured: Workspace) -> None:
    path = configured.write_settings(FOREIGN)
    path.chmod(0o600)
    install(configured)
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.stat(files.backup_path(str(path))).st_mode & 0o777 == 0o600


def test_a_symlinked_settings_file_is_written_where_it_points(configured: Workspace) -> None:
    dotfiles = configured.home / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "settings.json").write_text(FOREIGN)
    configured.claude.joinpath("settings.json").symlink_to(dotfiles / "settings.json")
    install(configured)
    assert configured.settings().is_symlink()
    assert "hookrun" in (dotfiles / "settings.json").read_text()
    assert (dotfiles / ("settings.json" + files.BACKUP_SUFFIX)).read_text() == FOREIGN
    uninstall(configured)
    assert (dotfiles / "settings.json").read_text() == FOREIGN


LOOKALIKES = """{
  "hooks": {
    "Stop": [{"hooks": [{"type": "command", "command": "npm run Stop", "timeout": 5}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [
      {"type": "command", "command": "make run PreToolUse", "timeout": 7}]}]
  }
}
"""


def test_commands_that_only_look_like_hookrun_run_are_left_alone(configured: Workspace) -> None:
    configured.config('[[hooks]]\nname = "s"\nevent = "Stop"\ncommand = "true"\n'
                      '[[hooks]]\nname = "g"\nevent = "PreToolUse"\nmatcher = "Bash"\n'
                      'command = "true"\n')
    path = configured.write_settings(LOOKALIKES)
    report = install(configured)
    assert [(c.event, c.action) for c in report.changes] == [("PreToolUse", ADD), ("Stop", ADD)]
    hooks = json.loads(path.read_text())["hooks"]
    assert hooks["Stop"] == [json.loads(LOOKALIKES)["hooks"]["Stop"][0], entry("Stop", 32)]
    assert hooks["PreToolUse"][0] == json.loads(LOOKALIKES)["hooks"]["PreToolUse"][0]
    uninstall(configured)
    assert path.read_text() == LOOKALIKES


@contextlib.contextmanager
def holding_the_lock(directory: Path) -> Iterator[None]:
    """The lock another hookrun would hold: ``flock`` on the directory's own descriptor."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_a_held_lock_stops_the_edit(configured: Workspace,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = configured.write_settings(FOREIGN)
    monkeypatch.setattr(files, "LOCK_TIMEOUT", 0.05)
    with holding_the_lock(configured.claude), \
            pytest.raises(SettingsError, match="another hookrun has held the lock on"):
        install(configured)
    assert path.read_text() == FOREIGN
    assert not os.path.exists(files.backup_path(str(path)))


def test_the_lock_outlasts_the_atomic_rename_of_the_settings(
        configured: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    path = configured.write_settings(FOREIGN)
    monkeypatch.setattr(files, "LOCK_TIMEOUT", 0.05)
    with files.locked(str(path)):
        files.write(str(path), FOREIGN.encode())  # a new inode under the old name
        with pytest.raises(SettingsError, match="another hookrun"):
            install(configured)
    assert path.read_text() == FOREIGN
    install(configured)  # released on exit


HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("ready", flush=True)
sys.stdin.read()
"""


def test_another_process_holding_the_lock_stops_the_edit(
        configured: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    path = configured.write_settings(FOREIGN)
    monkeypatch.setattr(files, "LOCK_TIMEOUT", 0.05)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(configured.claude)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "ready\n"
        with pytest.raises(SettingsError, match="another hookrun"):
            install(configured)
    finally:
        holder.communicate("", timeout=30)
    assert path.read_text() == FOREIGN
    install(configured)


@pytest.mark.parametrize("scope", ["project", "local", "user"])
def test_install_and_uninstall_leave_no_lock_file(configured: Workspace, scope: str) -> None:
    install(configured, scope, config=str(configured.claude / "hookrun.toml"))
    uninstall(configured, scope)
    assert sorted(os.listdir(configured.claude)) == ["hookrun.toml"]
    assert sorted(os.listdir(configured.home)) == ([".claude"] if scope == "user" else [])
    if scope == "user":
        assert os.listdir(configured.home / ".claude") == []


@pytest.mark.parametrize(("text", "words"), [
    ('{\n  "hooks": {\n    "Stop": [\n  }\n}', "line 4, column 3"),
    ('{"hooks": []}', "'hooks' must be an object"),
    ('{"hooks": {"PreToolUse": {}}}', "hooks.PreToolUse must be a list"),
    ("[1]", "must be a JSON object"),
])
def test_an_unusable_file_is_refused_and_left_alone(configured: Workspace, text: str,
                                                    words: str) -> None:
    path = configured.write_settings(text)
    with pytest.raises(SettingsError, match=words) as caught:
        install(configured)
    assert str(path) in str(caught.value)
    assert path.read_text() == text
    assert sorted(os.listdir(configured.claude)) == ["hookrun.toml", "settings.json"]


def test_a_broken_config_is_refused_before_the_settings_are_touched(
        workspace: Workspace) -> None:
    workspace.config('[[hooks]]\nname = "x"\nevent = "Nope"\ncommand = "true"\n')
    path = workspace.write_settings(FOREIGN)
    with pytest.raises(ConfigError, match="unknown event"):
        install(workspace)
    assert path.read_text() == FOREIGN


def test_the_installed_command_runs_hookrun_from_anywhere(configured: Workspace) -> None:
    """The real entry: /bin/sh, an empty PATH, another directory, and hookrun still answers."""
    configured.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\n'
                      'command = "echo CONTEXT-FROM-HOOKRUN"\n')
    install(configured, exe=str(Path(sys.executable).with_name("hookrun")))
    group = json.loads(configured.settings().read_text())["hooks"]["UserPromptSubmit"][0]
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "hi",
                          "cwd": str(configured.project), "session_id": "s"})
    env = {"PATH": "", "CLAUDE_PROJECT_DIR": str(configured.project),
           "HOME": str(configured.home)}
    done = subprocess.run(["/bin/sh", "-c", group["hooks"][0]["command"]], input=payload,
                          capture_output=True, text=True, cwd="/", env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "CONTEXT-FROM-HOOKRUN" in done.stdout
