"""``hookrun import --write`` on a realistic settings file, checked with the real Claude Code CLI.

The same project runs twice against the scripted model: once with its native hooks, once
after ``hookrun import --write`` moved them into hookrun.toml. What the model receives, which
tool calls ran and what the PostToolUse logger saw must be the same. The guard and the logger
are each configured twice, as people do by accident: Claude Code runs one copy of each, and
so must hookrun after the import (a second copy would double the deny reason and the log).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.messages_api import (
    MessagesAPI,
    Script,
    reply,
    system_texts,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import require_claude, run_claude
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)

PROMPT = "tidy the build output"
PYTHON = shlex.quote(sys.executable)

CONTEXT = """
    import json, sys
    json.load(sys.stdin)
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                             "additionalContext": "CTX-IMPORTED"}}))
"""
NO_RM = """
    import json, sys
    command = json.load(sys.stdin).get("tool_input", {}).get("command", "")
    if command.lstrip().startswith("rm "):
        print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "deny", "permissionDecisionReason": "NO-RM: move it instead"}}))
"""
LOG = """
    import json, sys
    payload = json.load(sys.stdin)
    with open("tool.log", "a") as log:
        log.write(payload["tool_name"] + ": " + payload["tool_input"].get("command", "") + "\\n")
"""


def command(script: str) -> str:
    return f'{PYTHON} "$CLAUDE_PROJECT_DIR"/.claude/hooks/{script}'


SETTINGS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
    "env": {"TEAM_NOTE": "grüße aus dem Build ✓"},
    "x-team-tool": {"version": 3, "rules": [{"id": "a", "on": True}]},
    "hooks": {
        "UserPromptSubmit": [
            {"hooks": [{"type": "command", "command": command("context.py"), "timeout": 10}]}],
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": command("no_rm.py"),
                                           "timeout": 10, "onFailure": "block"}]},
            {"matcher": "Bash|Edit", "hooks": [{"type": "command",
                                                "command": command("no_rm.py")}]}],
        "PostToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": command("log.py"),
                                           "timeout": 10}]},
            {"matcher": "*", "hooks": [{"type": "command", "command": command("log.py"),
                                        "timeout": 5}]}],
        "Notification": [{"hooks": [{"type": "http", "url": "http://127.0.0.1:9/notify"}]}],
    },
}
REPLIES = [reply(tool_use("Bash", {"command": "rm -rf build", "description": "clean"})),
           reply(tool_use("Bash", {"command": "touch made.txt", "description": "mark"})),
           reply("finished")]


@dataclass(frozen=True)
class Seen:
    """What the model got and what happened, comparable between the two runs."""

    requests: int
    context_copies: int
    tool_results: tuple[tuple[bool, int], ...]  # (is_error, copies of the deny reason)
    build_kept: bool
    made: bool
    log: tuple[str, ...]
    result: str
    is_error: bool


def make_project(root: Path) -> Path:
    hooks = root / ".claude" / "hooks"
    hooks.mkdir(parents=True)
    for name, source in (("context.py", CONTEXT), ("no_rm.py", NO_RM), ("log.py", LOG)):
        (hooks / name).write_text(textwrap.dedent(source))
    (root / ".claude" / "settings.json").write_text(json.dumps(SETTINGS, indent=2,
                                                              ensure_ascii=False) + "\n")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_text("artifact")
    return root


def observe(project: Path) -> Seen:
    with MessagesAPI(Script({PROMPT: REPLIES})) as api:
        run = run_claude(project, PROMPT, api=api, extra_args=["--allowedTools", "Bash"])
        conversation = api.conversation(PROMPT)
    assert conversation, run.describe()
    first, last = conversation[0].body, conversation[-1].body
    log = project / "tool.log"
    return Seen(
        requests=len(conversation),
        context_copies="\n".join(system_texts(first)).count("CTX-IMPORTED"),
        tool_results=tuple((r.is_error, r.content.count("NO-RM")) for r in tool_results(last)),
        build_kept=(project / "build" / "out.bin").exists(),
        made=(project / "made.txt").exists(),
        log=tuple(log.read_text().splitlines()) if log.exists() else (),
        result=run.result_text,
        is_error=bool(run.result.get("is_error")),
    )


def hookrun_import(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return hookrun(project, home, "import", "--write")


def hookrun(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run([HOOKRUN, *args], cwd=project, env=env, text=True,
                          capture_output=True, timeout=60)


def test_import_keeps_what_the_model_sees(tmp_path: Path) -> None:
    require_claude()
    native = make_project(tmp_path / "native")
    imported = make_project(tmp_path / "imported")
    home = tmp_path / "home"
    home.mkdir()
    done = hookrun_import(imported, home)
    assert done.returncode == 0, done.stderr
    assert "moves 3 command hook(s)" in done.stdout

    before, after = observe(native), observe(imported)

    assert before == Seen(requests=3, context_copies=1, tool_results=((True, 1), (False, 0)),
                          build_kept=True, made=True, log=("Bash: touch made.txt",),
                          result="finished", is_error=False), "native hooks misbehave"
    assert after == before
    assert_hookrun_ran_them(imported)


def assert_hookrun_ran_them(project: Path) -> None:
    """The second run really went through hookrun: no native copies left, run records written."""
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    commands = [h.get("command", "") for groups in settings["hooks"].values()
                for group in groups for h in group["hooks"]]
    assert not any(".claude/hooks/" in c for c in commands)
    assert sum(c.startswith(f"{HOOKRUN} run ") for c in commands) == 3
    assert settings["hooks"]["Notification"] == SETTINGS["hooks"]["Notification"]
    assert {k: v for k, v in settings.items() if k != "hooks"} == {
        k: v for k, v in SETTINGS.items() if k != "hooks"}
    records = (project / ".swarm" / "hooks" / "runs.jsonl").read_text().splitlines()
    ran = {(r["event"], h["name"]) for r in map(json.loads, records) for h in r["hooks"]}
    assert ran == {("UserPromptSubmit", "context"), ("PreToolUse", "no_rm"),
                   ("PostToolUse", "log")}



def test_uninstall_gives_the_hooks_back_to_claude_code(tmp_path: Path) -> None:
    """import --write, install, uninstall: the file is back byte for byte, and the hooks fire
    natively again, as before the import."""
    require_claude()
    native = make_project(tmp_path / "native")
    project = make_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    original = (project / ".claude" / "settings.json").read_bytes()
    assert hookrun_import(project, home).returncode == 0
    assert hookrun(project, home, "install").returncode == 0
    undone = hookrun(project, home, "uninstall", "--json")
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["restored"] == 5

    assert (project / ".claude" / "settings.json").read_bytes() == original
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["hooks", "settings.json"]
    before, after = observe(native), observe(project)
    assert before.log == ("Bash: touch made.txt",), "native hooks misbehave"
    assert before.tool_results == ((True, 1), (False, 0)), "native hooks misbehave"
    assert after == before
    assert not (project / ".swarm" / "hooks").exists()  # hookrun ran nothing: no records
