"""A project of published-style Claude Code hooks, run natively and through hookrun.

The hooks live in ``tests/fixtures/thirdparty/`` exactly as people keep them: scripts in
``.claude/hooks/`` (Python with ``# /// script`` headers and a shared sibling module, bash +
jq validators, sh notifiers), wired in ``.claude/settings.json`` with relative paths,
``$CLAUDE_PROJECT_DIR`` quoted and unquoted. One twin keeps them native; the other moves them
with ``hookrun import --write`` and ``hookrun install`` (optionally ``--serve``), as a user
would, and commits the move. A ``Run`` is everything a user could compare afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakes.messages_api import MessagesAPI, Script, system_texts, tool_results
from tests.helpers.claude_cli import run_claude
from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.fakes.messages_api import Reply

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "thirdparty"
MODES = ("native", "run", "serve-cold", "serve")
# Payload fields that differ between two sessions by nature, not by how hooks ran.
_SAVED = re.compile(r"saved to: \S+")  # a large tool output's file, under the session's HOME
VOLATILE = frozenset({"session_id", "transcript_path", "prompt_id", "tool_use_id",
                      "duration_ms", "cwd"})


@dataclass(frozen=True)
class Run:
    """What the model received, the files the hooks left, and how the session ended."""

    model_input: tuple[str, ...]
    tool_results: tuple[tuple[bool, str], ...]
    files: dict[str, str]
    requests: int
    result: str
    is_error: bool
    terminal_reason: str


def make_project(root: Path, mode: str, settings: str = "settings.json") -> Path:
    """The fixture's hooks in ``root`` wired by ``settings``, native or moved into hookrun."""
    claude = root / ".claude"
    shutil.copytree(FIXTURE / "hooks", claude / "hooks")
    shutil.copy(FIXTURE / settings, claude / "settings.json")
    shutil.copy(FIXTURE / "TODO.md", claude / "TODO.md")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_text("artifact\n")
    (root / ".env").write_text("TOKEN=secret\n")
    (root / ".gitignore").write_text(".claude/settings.local.json\n")
    _git(root, "init", "-q", "-b", "main")
    _commit(root, "project")
    if mode != "native":
        hookrun(root, "import", "--write")
        hookrun(root, "install", *(["--serve"] if mode.startswith("serve") else []))
        if mode == "serve-cold":
            _cold(root / ".claude" / "hookrun.toml")
    _commit(root, "hooks")  # in both twins, so git-aware hooks see the same history
    return root


def _cold(config: Path) -> None:
    text = config.read_text()
    config.write_text(re.sub(r"(?m)^\[\[hooks\]\]\n", "[[hooks]]\nwarm = false\n", text))


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--allow-empty", "-m", message)


def hookrun(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([HOOKRUN, *args], cwd=root, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "CLAUDE_PROJECT_DIR": str(root)})
    assert done.returncode == 0 or args[0] == "serve", done.stderr
    return done


def observe(root: Path, prompt: str, replies: Sequence[Reply], *, tools: str,
            wait_for: Sequence[str] = ()) -> Run:
    with MessagesAPI(Script({prompt: list(replies)})) as api:
        try:
            run = run_claude(root, prompt, api=api, extra_args=["--allowedTools", tools],
                             timeout=90)
        finally:
            if (root / ".claude" / "settings.local.json").exists():
                hookrun(root, "serve", "--stop")
        conversation = api.conversation(prompt)
    for name in wait_for:  # background work of a hook, still running when claude exits
        _appears(root / name)
    last = conversation[-1].body if conversation else {}
    return Run(
        model_input=tuple(normalize(t, root) for t in system_texts(last)
                          if "# gitStatus" not in t),
        tool_results=tuple((r.is_error, normalize(r.content, root)) for r in tool_results(last)),
        files=files(root),
        requests=len(conversation),
        result=run.result_text,
        is_error=bool(run.result.get("is_error")),
        terminal_reason=str(run.result.get("terminal_reason", "")),
    )


def _appears(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def files(root: Path) -> dict[str, str]:
    """Every file the session wrote outside .claude/, .git/ and .swarm/, normalized."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in (".claude", ".git", ".swarm"):
            found[str(relative)] = normalize(path.read_text(errors="replace"), root)
    return found


def normalize(text: str, root: Path) -> str:
    """``text`` with the project path and per-session identifiers made equal."""
    text = text.replace(str(root), "<project>").replace(str(root.parent), "<parent>")
    text = _SAVED.sub("saved to: <file>", text)
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(_scrub(value), indent=2, ensure_ascii=False)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<volatile>" if k in VOLATILE else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value
