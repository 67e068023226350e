"""The repository as a Claude Code plugin: manifest, hooks.json, launcher, and real runs.

The launcher is tested with fake ``hookrun`` executables (which one it picks) and with the
real one (a project without hookrun.toml stays silent); the pinned CLI validates the plugin
strictly and runs it with ``--plugin-dir``, where hookrun's answer must reach the model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
import tomllib
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.lib.hookconfig import EVENTS
from tests.fakes.messages_api import MessagesAPI, Script, reply, system_texts, tool_use
from tests.helpers.claude_cli import REPO_ROOT, ClaudeRun, require_claude, run_claude
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

LAUNCHER = REPO_ROOT / "hooks" / "launch.sh"
LAUNCH_COMMAND = '"${CLAUDE_PLUGIN_ROOT}/hooks/launch.sh"'
PLUGIN_FILES = (".claude-plugin/plugin.json", "hooks/hooks.json", "hooks/launch.sh", "README.md")
REQUIRED_EVENTS = {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
                   "PostToolBatch", "Stop"}
PAYLOAD = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "hi", "session_id": "s"})


def package_version() -> str:
    return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"])


def hooks_config() -> dict[str, list[dict[str, Any]]]:
    hooks: dict[str, list[dict[str, Any]]] = json.loads(
        (REPO_ROOT / "hooks" / "hooks.json").read_text())["hooks"]
    return hooks


def test_the_manifest_names_the_plugin_and_carries_the_package_version() -> None:
    manifest = json.loads((REPO_ROOT / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "hookswarm"
    assert manifest["version"] == package_version()
    assert manifest["description"]


def test_hooks_json_sends_the_usual_events_to_the_launcher() -> None:
    hooks = hooks_config()
    assert REQUIRED_EVENTS <= set(hooks) <= set(EVENTS)
    handlers = [h for groups in hooks.values() for group in groups for h in group["hooks"]]
    assert {(h["type"], h["command"]) for h in handlers} == {("command", LAUNCH_COMMAND)}
    assert len(handlers) == len(hooks)  # one launcher per event: hookrun does the matching
    assert os.access(LAUNCHER, os.X_OK)


def test_hooks_json_leaves_the_timeouts_to_hookrun() -> None:
    """Claude Code's own defaults (30 s on UserPromptSubmit, about 1.5 s on SessionEnd) would
    cut hookrun off before the hooks' own timeouts."""
    handlers = [h for groups in hooks_config().values() for group in groups
                for h in group["hooks"]]
    assert {h.get("timeout") for h in handlers} == {600}


# ---------------------------------------------------------------- the launcher


def fake_hookrun(path: Path, label: str) -> None:
    """An executable that prints its label and arguments, then echoes its stdin."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{label} $*"\ncat\n')
    path.chmod(0o755)


def launch(plugin_root: Path, *, path: Path | None = None, cwd: Path | None = None,
           env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    search = [str(path)] if path else []
    environ = {"PATH": os.pathsep.join([*search, "/usr/bin", "/bin"]),
               "CLAUDE_PLUGIN_ROOT": str(plugin_root), **(env or {})}
    return subprocess.run([str(LAUNCHER)], input=PAYLOAD, capture_output=True, text=True,
                          env=environ, cwd=cwd or plugin_root, timeout=30)


@pytest.mark.parametrize(("installed", "chosen"), [
    ({"env", "venv", "path"}, "env"),
    ({"venv", "path"}, "venv"),
    ({"path"}, "path"),
], ids=["HOOKRUN_BIN-first", "plugin-venv-before-PATH", "PATH-last"])
def test_the_launcher_finds_hookrun_in_order(tmp_path: Path, installed: set[str],
                                             chosen: str) -> None:
    root, on_path = tmp_path / "plugin", tmp_path / "bin"
    places = {"env": tmp_path / "custom" / "hookrun", "venv": root / ".venv" / "bin" / "hookrun",
              "path": on_path / "hookrun"}
    for label in installed:
        fake_hookrun(places[label], label)
    env = {"HOOKRUN_BIN": str(places["env"])} if "env" in installed else {}
    root.mkdir(exist_ok=True)
    ran = launch(root, path=on_path, env=env)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == f"{chosen} run --if-configured\n{PAYLOAD}"


@pytest.mark.parametrize(("env", "names"), [
    ({}, "no working hookrun"),
    ({"HOOKRUN_BIN": "/nonexistent/hookrun"}, "HOOKRUN_BIN=/nonexistent/hookrun"),
], ids=["nowhere", "HOOKRUN_BIN-wrong"])
def test_without_hookrun_the_launcher_fails_open_with_one_line(tmp_path: Path,
                                                               env: dict[str, str],
                                                               names: str) -> None:
    fake_hookrun(tmp_path / "bin" / "hookrun", "on-path")  # a wrong HOOKRUN_BIN is not skipped
    ran = launch(tmp_path, path=tmp_path / "bin" if env else None, env=env)
    assert (ran.returncode, ran.stdout) == (0, "")
    [line] = ran.stderr.splitlines()
    assert line.startswith("hookswarm plugin: ")
    assert names in line


def test_a_plugin_venv_whose_python_is_gone_is_skipped_for_path(tmp_path: Path) -> None:
    root, on_path = tmp_path / "plug dir", tmp_path / "bin"
    broken = root / ".venv" / "bin" / "hookrun"
    broken.parent.mkdir(parents=True)
    broken.write_text(f"#!{tmp_path / 'gone' / 'python'}\n")
    broken.chmod(0o755)
    fake_hookrun(on_path / "hookrun", "path")
    ran = launch(root, path=on_path)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == f"path run --if-configured\n{PAYLOAD}"
    alone = launch(root)
    assert (alone.returncode, alone.stdout) == (0, "")
    assert "no working hookrun" in alone.stderr


HOOKRUN_CONFIGS = {
    "missing": None,
    "working": '[[hooks]]\nname = "ctx"\nevent = "UserPromptSubmit"\ncommand = "echo CTX-OK"\n',
    "broken": '[[hooks]]\nname = "ctx"\nevent = "UserPromptSubmit"\nbogus = 1\n',
}


def project_with(tmp_path: Path, config: str | None) -> Path:
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    if config is not None:
        (project / ".claude" / "hookrun.toml").write_text(config)
    return project


@pytest.mark.parametrize(("config", "via_launcher", "stdout_has"), [
    ("missing", True, None),
    ("missing", False, "cannot read the config"),  # plain `hookrun run` still says so
    ("working", True, "CTX-OK"),
    ("broken", True, "unknown key"),  # a broken config is never silent
])
def test_only_a_missing_config_is_silent_on_the_plugin_path(
        tmp_path: Path, config: str, via_launcher: bool, stdout_has: str | None) -> None:
    project = project_with(tmp_path, HOOKRUN_CONFIGS[config])
    env = {"HOOKRUN_BIN": HOOKRUN, "CLAUDE_PROJECT_DIR": str(project)}
    if via_launcher:
        ran = launch(tmp_path, cwd=project, env=env)
    else:
        ran = subprocess.run([HOOKRUN, "run"], input=PAYLOAD, capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", **env}, cwd=project, timeout=30)
    assert ran.returncode == 0
    if stdout_has is None:
        assert (ran.stdout, ran.stderr) == ("", "")
        assert not (project / ".swarm").exists()  # no records, no config cache
    else:
        assert stdout_has in ran.stdout


# ---------------------------------------------------------------- the real CLI


def cli_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": os.environ["PATH"], "HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"), "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}


def validate_strict(plugin_root: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``claude plugin validate --strict .`` run from the plugin root, as a maintainer would."""
    return subprocess.run([str(require_claude()), "plugin", "validate", "--strict", "."],
                          cwd=plugin_root, env=cli_env(home), capture_output=True, text=True,
                          timeout=60)


def test_the_plugin_files_pass_strict_validation(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    for name in PLUGIN_FILES:
        (plugin / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, plugin / name)
    ran = validate_strict(plugin, tmp_path / "home")
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_repository_root_passes_strict_validation(tmp_path: Path) -> None:
    # The repository's memory file lives in .claude/CLAUDE.md: a CLAUDE.md at a plugin root
    # is a strict-validation warning ("not loaded as project context").
    ran = validate_strict(REPO_ROOT, tmp_path / "home")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert not (REPO_ROOT / "CLAUDE.md").exists()


PROMPT = "run a command"
HOOK_OUTPUT = re.compile(r"\b[A-Za-z]+(:\w+)? hook (success|additional context|error)")
CONTEXT_HOOK = textwrap.dedent('''
    [[hooks]]
    name = "plugin-context"
    event = "UserPromptSubmit"
    command = "echo CTX-FROM-PLUGIN"
''')


def run_with_plugin(project: Path) -> tuple[ClaudeRun, dict[str, Any]]:
    """One ``claude -p`` turn with ``--plugin-dir <repo>``: Bash once, then an answer."""
    turns = [reply(tool_use("Bash", {"command": "true", "description": "nothing"})),
             reply("finished")]
    with MessagesAPI(Script({PROMPT: turns})) as api:
        run = run_claude(project, PROMPT, api=api, env={"HOOKRUN_BIN": HOOKRUN},
                         extra_args=["--plugin-dir", str(REPO_ROOT), "--allowedTools", "Bash",
                                     "--include-hook-events"])
        conversation = api.conversation(PROMPT)
    assert run.exit_code == 0, run.describe()
    assert conversation, run.describe()
    return run, conversation[-1].body


@pytest.mark.timeout(120)
def test_the_cli_loads_the_plugin_and_hookrun_answers(claude_project: Path) -> None:
    (claude_project / ".claude" / "hookrun.toml").write_text(CONTEXT_HOOK)
    run, last_request = run_with_plugin(claude_project)
    [init] = run.of_type("system", "init")
    plugin = next(p for p in init["plugins"] if p["name"] == "hookswarm")
    assert (plugin["path"], plugin["version"]) == (str(REPO_ROOT), package_version())
    assert any("CTX-FROM-PLUGIN" in text for text in system_texts(last_request))


@pytest.mark.timeout(120)
def test_a_project_without_hookrun_toml_sees_nothing(claude_project: Path) -> None:
    run, last_request = run_with_plugin(claude_project)
    responses = run.of_type("system", "hook_response")
    assert {r["hook_event"] for r in responses} >= REQUIRED_EVENTS
    noisy = [r for r in responses
             if (r.get("exit_code"), r.get("stdout"), r.get("stderr"), r.get("output"))
             != (0, "", "", "")]
    assert noisy == []
    assert [t for t in system_texts(last_request) if HOOK_OUTPUT.search(t)] == []
    assert not (claude_project / ".swarm").exists()
