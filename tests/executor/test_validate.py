"""``hookrun validate``: what it can and cannot see, and which findings are errors."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

import pytest

from hookswarm.executor.validate import Finding, check, validate
from hookswarm.lib import hookconfig as configuration
from tests.helpers.hookrun_toml import chain
from tests.helpers.project import Project, hookrun

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)


INTERPRETERS = ("python", "python3", "node", "bash", "sh", "uv", "ruby", "perl", "grep")


def findings(project: Path, toml: str, *, cwd: Path | None = None) -> list[Finding]:
    """Validate ``toml`` as the project's config, with every interpreter on PATH."""
    (project / ".claude").mkdir(exist_ok=True)
    path = project / ".claude" / "hookrun.toml"
    path.write_text(toml)
    environ = {"CLAUDE_PROJECT_DIR": str(project), "PATH": str(stub_bin(project.parent)),
               "HOME": str(project / "home")}
    return validate(str(path), environ=environ, cwd=str(cwd or project))


def stub_bin(where: Path) -> Path:
    bin_dir = where / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in INTERPRETERS:
        (bin_dir / name).touch(mode=0o755)
    return bin_dir


def test_a_call_hook_in_the_project_directory_imports_as_hookrun_run_imports_it(
        tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    name = f"projhook_{os.getpid()}"
    (project / f"{name}.py").write_text("import sys\nFIRST = sys.path[0]\n"
                                        "def hook(payload):\n    return None\n")
    before = list(sys.path)
    found = findings(project, f'[[hooks]]\nname = "p"\nevent = "Stop"\ncall = "{name}:hook"\n',
                     cwd=tmp_path)
    assert found == []
    assert str(project) == sys.modules[name].FIRST  # first, as `hookrun run` puts it
    assert sys.path == before


def test_a_project_module_named_like_the_stdlib_imports_as_run_imports_it(
        project: Project) -> None:
    project.module("calendar", "def hook(payload):\n    return 'from project'\n")
    project.config('[[hooks]]\nname = "c"\nevent = "Stop"\ncall = "calendar:hook"\n')
    done = hookrun(project, "validate", "--json")
    assert json.loads(done.stdout)["ok"] is True, done.stdout


def test_a_script_under_the_home_directory_is_found(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "hook.sh").write_text("")
    monkeypatch.setenv("HOME", str(home))
    project = tmp_path / "project"
    project.mkdir()
    for command in ("bash ~/bin/hook.sh", "~/bin/hook.sh"):
        toml = f'[[hooks]]\nname = "h"\nevent = "Stop"\ncommand = "{command}"\n'
        assert findings(project, toml) == [], command


def test_a_call_that_prints_while_importing_keeps_validate_json_valid(project: Project) -> None:
    project.module("loud", "print('loading loud')\ndef hook(payload):\n    return None\n")
    project.config('[[hooks]]\nname = "l"\nevent = "Stop"\ncall = "loud:hook"\n')
    done = hookrun(project, "validate", "--json")
    assert json.loads(done.stdout)["ok"] is True
    assert "loading loud" in done.stderr


@pytest.mark.parametrize(("command", "script"), [
    ("python3 .claude/hooks/no_rm.py", ".claude/hooks/no_rm.py"),
    ("python3 -u hooks/check.py --strict", "hooks/check.py"),
    ("FOO=1 python hooks/check.py", "hooks/check.py"),
    ('python3 "$CLAUDE_PROJECT_DIR/.claude/hooks/a.py"', "{project}/.claude/hooks/a.py"),
    ("node hooks/lint.js", "hooks/lint.js"),
    ("bash scripts/guard.sh", "scripts/guard.sh"),
    ("sh -e scripts/guard.sh", None),  # -e takes the code in node/perl/ruby: not checked
    ("uv run hooks/x.py", "hooks/x.py"),
    ("ruby check.rb", "check.rb"),
    ("perl hooks/check.pl", "hooks/check.pl"),
    ("python3 -m hooks.check", None),
    ("python3 -c 'print(1)'", None),
    ("bash -c 'exit 0'", None),
    ("uv run pytest", None),
    ("python3 -W ignore x.py", None),  # an option's argument is not mistaken for the script
    ("python3 $HOOKS/x.py", None),  # only $CLAUDE_PROJECT_DIR is known here
    ("grep -q secret notes.txt", None),
])
def test_a_missing_script_given_to_an_interpreter_is_a_warning(
        tmp_path: Path, command: str, script: str | None) -> None:
    toml = f'[[hooks]]\nname = "h"\nevent = "Stop"\ncommand = {json.dumps(command)}\n'
    project = tmp_path / "project"
    project.mkdir()
    found = findings(project, toml)
    if script is None:
        assert found == []
    else:
        assert [f.level for f in found] == ["warning"]
        assert found[0].message.startswith(f"script {script.format(project=project)!r} ")


def test_a_script_that_exists_is_fine(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".claude" / "hooks").mkdir(parents=True)
    (project / ".claude" / "hooks" / "no_rm.py").write_text("")
    toml = '[[hooks]]\nname = "h"\nevent = "Stop"\ncommand = "python3 .claude/hooks/no_rm.py"\n'
    assert findings(project, toml) == []


def test_what_only_this_environment_lacks_warns_and_what_surely_fails_is_an_error(
        project: Project) -> None:
    project.config("""
        [[hooks]]
        name = "elsewhere"
        event = "Stop"
        command = "tool-only-on-claudes-path --check"
        [[hooks]]
        name = "script"
        event = "Stop"
        command = "python3 .claude/hooks/no_rm.py"
    """)
    done = hookrun(project, "validate")
    assert done.returncode == 0
    assert done.stdout.count("warning: ") == 2
    assert "error" not in done.stdout + done.stderr


STALE = """
    [[hooks]]
    name = "b"
    event = "PreToolUse"
    matcher = "Bash"
    command = "true"
"""


def with_edit_hook(project: Project) -> None:
    project.config(STALE + '[[hooks]]\nname = "e"\nevent = "PreToolUse"\nmatcher = "Edit"\n'
                   'command = "true"\n')


@pytest.mark.parametrize(("scope", "again"), [
    ("project", "run `hookrun install` again"),
    ("local", "run `hookrun install --scope local` again"),
    ("user", "run `hookrun install --scope user` again"),
])
def test_an_entry_installed_for_an_older_config_is_named_with_its_scope(
        project: Project, monkeypatch: pytest.MonkeyPatch, scope: str, again: str) -> None:
    monkeypatch.setenv("HOME", str(project.root / "home"))
    project.config(STALE)
    assert hookrun(project, "install", "--scope", scope).returncode == 0
    assert "OK" in hookrun(project, "validate").stdout
    with_edit_hook(project)
    done = hookrun(project, "validate")
    assert done.returncode == 0
    assert f"({scope} scope) are stale: PreToolUse matcher is 'Bash', the config needs " \
        "'Bash|Edit'" in done.stdout
    assert again in done.stdout
    assert hookrun(project, "install", "--scope", scope).returncode == 0
    assert "OK" in hookrun(project, "validate").stdout


def stale_messages(project: Path, config: configuration.Config) -> list[str]:
    environ = {"CLAUDE_PROJECT_DIR": str(project), "HOME": str(project / "home")}
    return [f.message for f in check(config, environ=environ, cwd=str(project))
            if "stale" in f.message]


def settings(project: Path, hooks: dict[str, list[dict[str, object]]]) -> None:
    (project / ".claude").mkdir(exist_ok=True)
    (project / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))


def entry(event: str, timeout: int, matcher: str = "", config: str = "") -> dict[str, object]:
    command = f"/opt/bin/hookrun run {event}" + (f" --config {config}" if config else "")
    group: dict[str, object] = {"hooks": [{"type": "command", "command": command,
                                           "timeout": timeout}]}
    return {**group, "matcher": matcher} if matcher else group


def loaded(project: Path, toml: str) -> configuration.Config:
    (project / ".claude").mkdir(exist_ok=True)
    (project / ".claude" / "hookrun.toml").write_text(toml)
    return configuration.load(str(project / ".claude" / "hookrun.toml"))


STOP = '[[hooks]]\nname = "s"\nevent = "Stop"\ncommand = "true"\ntimeout = 60\n'


@pytest.mark.parametrize(("hooks", "words"), [
    ({"Stop": [entry("Stop", 62)]}, None),
    ({"Stop": [entry("Stop", 62, matcher="*")]}, None),
    ({}, None),  # nothing installed: the plugin may be what runs hookrun
    ({"Stop": [{"hooks": [{"type": "command", "command": "make check"}]}]}, None),
    ({"Stop": [entry("Stop", 32)]}, "Stop timeout is 32 s, the config needs 62 s"),
    ({"Stop": [entry("Stop", 62)], "PreToolUse": [entry("PreToolUse", 32)]},
     "an entry for PreToolUse, which has no hooks now"),
    ({"PreToolUse": [entry("PreToolUse", 32)]}, "no entry for Stop, so its hooks never run"),
    ({"Stop": [entry("Stop", 32, config="/elsewhere/hookrun.toml")]}, None),
])
def test_installed_entries_are_compared_with_what_install_would_write(
        tmp_path: Path, hooks: dict[str, list[dict[str, object]]], words: str | None) -> None:
    config = loaded(tmp_path, STOP)
    settings(tmp_path, hooks)
    messages = stale_messages(tmp_path, config)
    if words is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert words in messages[0]


def test_an_entry_for_this_config_by_path_suggests_the_same_config(tmp_path: Path) -> None:
    config = loaded(tmp_path, STOP)
    settings(tmp_path, {"Stop": [entry("Stop", 32, config=config.path)]})
    (message,) = stale_messages(tmp_path, config)
    assert f"run `hookrun install --config {config.path}` again" in message


LONG_PROMPT_HOOK = ('[[hooks]]\nname = "slow-ctx"\nevent = "UserPromptSubmit"\n'
                    'command = "true"\ntimeout = 45\n')
LONG_STOP_CHAIN = ('[[hooks]]\nname = "a"\nevent = "Stop"\ncommand = "true"\ntimeout = 400\n'
                   '[[hooks]]\nname = "b"\nevent = "Stop"\ncommand = "true"\ntimeout = 300\n'
                   'after = ["a"]\n')
OFF_PLUGIN = '[[hooks]]\nname = "compacted"\nevent = "PostCompact"\ncommand = "true"\n'


def plugin_messages(project: Path, toml: str,
                    installed: dict[str, list[dict[str, object]]] | None = None,
                    enabled: bool = False) -> list[str]:
    config = loaded(project, toml)
    data: dict[str, object] = {"hooks": installed or {}}
    if enabled:
        data["enabledPlugins"] = {"hookswarm@local": True}
    (project / ".claude" / "settings.json").write_text(json.dumps(data))
    environ = {"CLAUDE_PROJECT_DIR": str(project), "HOME": str(project / "home")}
    return [f.message for f in check(config, environ=environ, cwd=str(project))
            if "plugin" in f.message or "cut off" in f.message]


def test_a_long_prompt_hook_is_not_cut_off_under_install_or_the_plugin(tmp_path: Path) -> None:
    assert plugin_messages(tmp_path, LONG_PROMPT_HOOK) == []  # the plugin gives 600 s
    installed = {"UserPromptSubmit": [entry("UserPromptSubmit", 47)]}
    assert plugin_messages(tmp_path, LONG_PROMPT_HOOK, installed) == []


def test_a_chain_longer_than_the_plugins_timeout_is_named_only_under_the_plugin(
        tmp_path: Path) -> None:
    (message,) = plugin_messages(tmp_path, LONG_STOP_CHAIN)
    assert "under the plugin, Stop gets 600 s in all" in message
    assert "may need 702 s" in message
    assert "hookrun install" in message
    assert plugin_messages(tmp_path, LONG_STOP_CHAIN, {"Stop": [entry("Stop", 702)]}) == []


def test_an_event_the_plugin_does_not_carry_is_named_when_the_plugin_runs_hookrun(
        tmp_path: Path) -> None:
    (message,) = plugin_messages(tmp_path, OFF_PLUGIN)
    assert "the plugin's hooks.json has no PostCompact entry" in message
    assert "'compacted' never run" in message
    installed = {"PostCompact": [entry("PostCompact", 32)]}
    assert plugin_messages(tmp_path, OFF_PLUGIN, installed) == []
    assert len(plugin_messages(tmp_path, OFF_PLUGIN, installed, enabled=True)) == 1


@pytest.mark.parametrize(("options", "words"), [
    ('{ mode = "blok" }', "options.mode is 'blok'; use one of: block, warn, off"),
    ('{ mdoe = "warn" }', "the agent guard has no option 'mdoe' (it takes: mode)"),
])
def test_the_agent_guards_options_are_checked(tmp_path: Path, options: str, words: str) -> None:
    toml = ('[[hooks]]\nname = "guard"\nevent = "PreToolUse"\nmatcher = "Agent|Task"\n'
            f'call = "hookswarm.hooks.agent_guard:check"\noptions = {options}\n')
    (finding,) = findings(tmp_path, toml)
    assert (finding.level, finding.hook) == ("error", "guard")
    assert words in finding.message


def test_good_agent_guard_options_pass(tmp_path: Path) -> None:
    toml = ('[[hooks]]\nname = "guard"\nevent = "PreToolUse"\nmatcher = "Agent|Task"\n'
            'call = "hookswarm.hooks.agent_guard:check"\noptions = { mode = "warn" }\n')
    assert findings(tmp_path, toml) == []
def test_a_command_also_run_natively_is_named_in_both_places(project: Project,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The reported case: validate said OK while the guard ran natively and through hookrun."""
    monkeypatch.setenv("HOME", str(project.root / "home"))
    project.config('[[hooks]]\nname = "guard"\nevent = "PreToolUse"\nmatcher = "Bash"\n'
                   'command = "true --guard"\n[[hooks]]\nname = "ctx"\nevent = "Stop"\n'
                   'command = "true --ctx"\n')
    local = project.root / ".claude" / "settings.local.json"
    local.write_text(json.dumps({"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "true --guard"}]}],
        "PreToolUse": [{"matcher": "Edit", "hooks": [{"type": "http", "url": "true --guard"}]},
                       {"matcher": "Bash|Edit", "hooks": [
                           {"type": "command", "command": "echo other"},
                           {"type": "command", "command": " true --guard"}]}]}}))
    done = hookrun(project, "validate")
    assert done.returncode == 0
    assert done.stdout.splitlines()[:1] == [
        f"warning: {project.root / '.claude' / 'hookrun.toml'}: hook 'guard': runs "
        f"'true --guard' on PreToolUse, and {local} (local scope) runs the same command "
        "natively at hooks.PreToolUse[1].hooks[1] (matcher 'Bash|Edit'): where both match, "
        "it runs twice; remove one (`hookrun import --scope local` removes the native copy)"]
    assert "OK" not in done.stdout
    assert "ctx" not in done.stdout
def test_a_chain_of_1500_hooks_validates(tmp_path: Path) -> None:
    assert [f for f in findings(tmp_path, chain(1500)) if f.level == "error"] == []


def test_a_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    path = tmp_path / ".claude" / "hookrun.toml"
    path.write_bytes(b'[[hooks]]\nname = "\xff"\n')
    [finding] = validate(str(path), environ={}, cwd=str(tmp_path))
    assert finding.level == "error"
    assert "not UTF-8 text" in finding.message
