"""Third-party-style hooks, native and through hookrun, agree over three runs of the real CLI.

The hooks are the kinds people copy into their projects: a PreToolUse logger that reads a JSON
log, appends the call and rewrites the file (slowly, so the denies arrive while it writes), two
deny hooks (a JSON deny in Python, an exit-2 deny in sh), and a UserPromptSubmit context hook
that reports ``git status``. One project keeps them in settings.json; its twin moves them with
``hookrun import --write`` and ``hookrun install`` (and commits the move, as a user would).
Over three runs each: the log holds every call, the model sees the same git status, and every
deny reason Claude Code shows natively is among hookrun's.
"""

from __future__ import annotations

import json
import re
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
from tests.helpers.processes import ENDED_SOURCE

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(600)

PROMPT = "clean up the secret dir"
PYTHON = shlex.quote(sys.executable)
RUNS = 3  # the acceptance asks for three runs each way
DENY_MARKERS = ("DENY-RM", "DENY-SECRET")

LOGGER = """
    import json, os, sys, time
    payload = json.load(sys.stdin)
    claude = os.path.join(os.environ["CLAUDE_PROJECT_DIR"], ".claude")
    path = os.path.join(claude, "tool-log.json")
    try:
        with open(path) as handle:
            log = json.load(handle)
    except (OSError, ValueError):
        log = []  # what the copied logger does with a log it cannot read
    # A slow logger: it writes only once both denying hooks have exited, so it is at work
    # when their denies arrive.
    pids = [os.path.join(claude, "pids", name) for name in ("no_rm", "no_secrets")]
{ended}
    while not all(ended(p) for p in pids):
        time.sleep(0.01)
    for pid_file in pids:
        os.remove(pid_file)
    log.append({"tool": payload["tool_name"], "command": payload["tool_input"].get("command")})
    with open(path, "w") as handle:
        json.dump(log, handle)
""".replace("{ended}\n", textwrap.indent(ENDED_SOURCE, "    "))
NO_RM = """
    import json, os, sys
    pids = os.path.join(os.environ["CLAUDE_PROJECT_DIR"], ".claude", "pids")
    os.makedirs(pids, exist_ok=True)
    with open(os.path.join(pids, "no_rm"), "w") as handle:
        handle.write(str(os.getpid()))
    command = json.load(sys.stdin).get("tool_input", {}).get("command", "")
    if command.startswith("rm "):
        print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "deny", "permissionDecisionReason": "DENY-RM: use trash"}}))
"""
NO_SECRETS = """
    mkdir -p "$CLAUDE_PROJECT_DIR/.claude/pids"
    echo $$ > "$CLAUDE_PROJECT_DIR/.claude/pids/no_secrets"
    input=$(cat)
    case "$input" in
      *secret*) echo "DENY-SECRET: secrets stay where they are" >&2; exit 2 ;;
    esac
"""
GIT_CONTEXT = """
    cat > /dev/null
    printf 'GIT-STATUS[%s]\\n' "$(git status --porcelain | tr '\\n' ';')"
"""
SCRIPTS = {"logger.py": LOGGER, "no_rm.py": NO_RM, "no_secrets.sh": NO_SECRETS,
           "git_context.sh": GIT_CONTEXT}


def hook(runner: str, script: str) -> dict[str, Any]:
    return {"type": "command", "command": f'{runner} "$CLAUDE_PROJECT_DIR"/.claude/hooks/{script}',
            "timeout": 10}


SETTINGS = {"hooks": {
    "UserPromptSubmit": [{"hooks": [hook("sh", "git_context.sh")]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [hook(PYTHON, "logger.py"),
                                                  hook(PYTHON, "no_rm.py"),
                                                  hook("sh", "no_secrets.sh")]}],
}}
REPLIES = [reply(tool_use("Bash", {"command": "rm -rf secret", "description": "clean"})),
           reply(tool_use("Bash", {"command": "ls", "description": "look"})),
           reply("done")]


@dataclass(frozen=True)
class Seen:
    """What one run showed the model."""

    git_status: str
    deny_reasons: frozenset[str]
    results: tuple[bool, ...]  # is_error per tool result


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout


def make_repo(root: Path) -> Path:
    """A git repository with the hooks committed and one uncommitted change."""
    hooks = root / ".claude" / "hooks"
    hooks.mkdir(parents=True)
    for name, source in SCRIPTS.items():
        (hooks / name).write_text(textwrap.dedent(source))
    (root / ".claude" / "settings.json").write_text(json.dumps(SETTINGS, indent=2) + "\n")
    (root / ".gitignore").write_text(".claude/tool-log.json\n.claude/pids/\n")
    (root / "notes.txt").write_text("first\n")
    (root / "secret").mkdir()
    (root / "secret" / "key").write_text("k\n")
    git(root, "init", "-q")
    commit(root, "start", ".claude", ".gitignore", "notes.txt", "secret")
    (root / "notes.txt").write_text("first\nsecond\n")
    return root


def commit(root: Path, message: str, *paths: str) -> None:
    git(root, "add", "-A", *paths)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m",
        message)


def move_to_hookrun(root: Path, mode: str) -> None:
    """``run``: command entries; ``serve``: http entries, warm scripts; ``serve-cold``: http
    entries with every hook ``warm = false``."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root.parent / "home")}
    install = ["install", "--serve"] if mode.startswith("serve") else ["install"]
    for verb in (["import", "--write"], install):
        done = subprocess.run([HOOKRUN, *verb], cwd=root, env=env, text=True,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    if mode == "serve-cold":
        config = root / ".claude" / "hookrun.toml"
        config.write_text(config.read_text().replace("[[hooks]]\n", "[[hooks]]\nwarm = false\n"))
    settings = (root / ".claude" / "settings.json").read_text()
    entry = "/hookrun-install/PreToolUse" if mode.startswith("serve") else f"{HOOKRUN} run"
    assert ".claude/hooks/" not in settings
    assert entry in settings
    commit(root, "hooks through hookrun", ".claude")


def stop_server(root: Path) -> None:
    subprocess.run([HOOKRUN, "serve", "--stop"], cwd=root, capture_output=True, timeout=30,
                   env={"PATH": "/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(root),
                        "HOME": str(root.parent / "home")})


def observe(root: Path) -> Seen:
    with MessagesAPI(Script({PROMPT: REPLIES})) as api:
        run = run_claude(root, PROMPT, api=api, extra_args=["--allowedTools", "Bash"],
                         timeout=120)
        conversation = api.conversation(PROMPT)
    assert len(conversation) == 3, run.describe()
    first, last = conversation[0].body, conversation[-1].body
    found = re.search(r"GIT-STATUS\[(.*?)\]", "\n".join(system_texts(first)))
    assert found, run.describe()
    results = tool_results(last)
    denied = results[0].content
    return Seen(git_status=found.group(1),
                deny_reasons=frozenset(m for m in DENY_MARKERS if m in denied),
                results=tuple(r.is_error for r in results))


@pytest.mark.parametrize("mode", ["run", "serve-cold", "serve"])
def test_native_and_hookrun_agree_on_logs_context_and_denies(tmp_path: Path, mode: str) -> None:
    require_claude()
    native = make_repo(tmp_path / "native")
    through = make_repo(tmp_path / "hookrun")
    (tmp_path / "home").mkdir()
    move_to_hookrun(through, mode)
    for _ in range(RUNS):
        before = observe(native)
        try:
            after = observe(through)
        finally:
            stop_server(through)
        assert before.git_status == after.git_status == " M notes.txt;"
        assert before.results == after.results == (True, False)
        assert before.deny_reasons, "Claude Code showed no deny reason"
        assert before.deny_reasons <= after.deny_reasons == frozenset(DENY_MARKERS)
    calls = [{"tool": "Bash", "command": c} for _ in range(RUNS) for c in ("rm -rf secret", "ls")]
    for root in (native, through):
        log = json.loads((root / ".claude" / "tool-log.json").read_text())
        assert log == calls, root.name
    assert (through / ".swarm" / "hooks" / "runs.jsonl").exists()  # hookrun really ran them
    assert (native / "secret" / "key").exists()
    assert (through / "secret" / "key").exists()
