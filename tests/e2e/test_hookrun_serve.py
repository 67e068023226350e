"""``hookrun install --serve`` through the real CLI: a dead server, and the note that follows.

A project's hooks go through the warm server. Then the server dies (SIGKILL) and a session
runs without SessionStart restarting it, as after an idle exit in a long session: the
``on_error = "block"`` PreToolUse guard blocks with a message saying how to start the server,
the prompt's context hook fails open. The next session starts the server again, SessionStart's
hooks still run, and its first answer tells the user what went missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.fakes.messages_api import (
    MessagesAPI,
    Script,
    reply,
    system_texts,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import ClaudeRun, run_claude
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(240)

PROMPT = "please run the tool"
TOUCH = tool_use("Bash", {"command": "touch ran.txt", "description": "touch"})
CONFIG = f"""
    [[hooks]]
    name = "guard"
    event = "PreToolUse"
    matcher = "Bash"
    command = "{sys.executable} -c 'import sys; sys.stdin.read()'"
    on_error = "block"

    [[hooks]]
    name = "context"
    event = "UserPromptSubmit"
    command = "echo CTX-PROMPT"

    [[hooks]]
    name = "start"
    event = "SessionStart"
    command = "echo CTX-START"
"""


def hookrun_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOOKRUN, *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "CLAUDE_PROJECT_DIR": str(root)}, timeout=30)


def session(root: Path) -> tuple[ClaudeRun, str, list[bool]]:
    """One ``claude -p`` run: what it printed, what the model saw, and its tool errors."""
    (root / "ran.txt").unlink(missing_ok=True)
    with MessagesAPI(Script({PROMPT: [reply(TOUCH), reply("finished")]})) as api:
        run = run_claude(root, PROMPT, api=api, extra_args=["--allowedTools", "Bash"])
        conversation = api.conversation(PROMPT)
    last = conversation[-1].body
    results = tool_results(last)
    seen = "\n".join([*system_texts(last), *(r.content for r in results),
                      json.dumps(last.get("messages", []))])
    return run, seen, [r.is_error for r in results]


def notices(run: ClaudeRun) -> str:
    return "\n".join(str(e.get("content", "")) for e in run.of_type("system", "informational"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    (root / ".claude").mkdir(parents=True)
    (root / ".claude" / "hookrun.toml").write_text(textwrap.dedent(CONFIG))
    assert hookrun_in(root, "install", "--serve").returncode == 0
    yield root
    hookrun_in(root, "serve", "--stop")


def test_a_dead_server_fails_closed_where_asked_and_says_so_later(served: Path) -> None:
    run, seen, errors = session(served)
    assert "CTX-START" in seen, run.describe()
    assert "CTX-PROMPT" in seen, run.describe()
    assert (served / "ran.txt").exists()
    assert errors == [False]

    state = json.loads((served / ".swarm" / "hooks" / "serve.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    settings_path = served / ".claude" / "settings.json"
    installed = settings_path.read_text()
    settings = json.loads(installed)
    del settings["hooks"]["SessionStart"]  # a session that began before the server died
    settings_path.write_text(json.dumps(settings))
    try:
        run, seen, errors = session(served)
    finally:
        settings_path.write_text(installed)
    assert not (served / "ran.txt").exists(), run.describe()
    assert errors == [True], run.describe()
    assert "start-it-with-hookrun-serve" in seen  # the block says how to bring it back
    assert "CTX-PROMPT" not in seen  # the prompt hook failed open
    assert run.result.get("is_error") is False

    run, seen, errors = session(served)
    assert "CTX-START" in seen, run.describe()
    assert "CTX-PROMPT" in seen, run.describe()
    assert errors == [False]
    assert "ended without stopping cleanly" in notices(run)


def test_a_user_scope_install_serves_every_project_from_one_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".claude" / "hookrun.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[[hooks]]\nname = "where"\nevent = "UserPromptSubmit"\n'
                      'command = "echo CTX-IN-$(basename \\"$CLAUDE_PROJECT_DIR\\")"\n')
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run([HOOKRUN, "install", "--serve", "--scope", "user", "--config",
                           str(config)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    pids = []
    try:
        for name in ("alpha", "beta"):
            project = tmp_path / name
            project.mkdir()
            with MessagesAPI(Script({PROMPT: [reply("hi")]})) as api:
                run = run_claude(project, PROMPT, api=api, home=home)
                seen = "\n".join(system_texts(api.conversation(PROMPT)[-1].body))
            assert f"CTX-IN-{name}" in seen, run.describe()
            state = json.loads((home / ".claude" / ".swarm" / "hooks" / "serve.json").read_text())
            pids.append(state["pid"])
    finally:
        subprocess.run([HOOKRUN, "serve", "--stop", "--user"], cwd=tmp_path, env=env,
                       capture_output=True, timeout=30)
    assert pids[0] == pids[1]  # the second session found the first one's server


def test_a_deny_reaches_claude_code_when_a_hook_beside_it_is_slow_to_start(
        tmp_path: Path) -> None:
    # `slow` starts from a zygote that preloads `gate`, whose import waits for a file: the hook
    # cannot start at all. Claude Code waits 3 s for the PreToolUse entry (1 s hooks + 2 s);
    # the deny beside it must arrive before that, or Claude Code runs the tool.
    root = tmp_path / "project"
    (root / ".claude").mkdir(parents=True)
    gate = root / "gate-open"
    (root / "gate.py").write_text(f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n"
                                  "    time.sleep(0.01)\n")
    (root / "slow.py").write_text("import gate\n")
    (root / "deny.py").write_text(
        "import json, sys\nsys.stdin.read()\nprint(json.dumps({'hookSpecificOutput': {"
        "'hookEventName': 'PreToolUse', 'permissionDecision': 'deny', "
        "'permissionDecisionReason': 'DENY-IN-TIME'}}))\n")
    (root / ".claude" / "hookrun.toml").write_text(textwrap.dedent(f"""
        [[hooks]]
        name = "deny"
        event = "PreToolUse"
        matcher = "Bash"
        command = "{sys.executable} {root / 'deny.py'}"
        timeout = 1
        warm = false

        [[hooks]]
        name = "slow"
        event = "PreToolUse"
        matcher = "Bash"
        command = "{sys.executable} {root / 'slow.py'}"
        timeout = 1
        env = {{ PYTHONPATH = "{root}" }}
    """))
    assert hookrun_in(root, "install", "--serve").returncode == 0
    try:
        run, seen, errors = session(root)
    finally:
        gate.touch()
        hookrun_in(root, "serve", "--stop")
    assert not (root / "ran.txt").exists(), run.describe()
    assert errors == [True], run.describe()
    assert "DENY-IN-TIME" in seen
