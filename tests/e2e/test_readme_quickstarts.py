"""The README's quick starts, run as written in a temporary project, so they cannot rot.

Every block fenced as ```` ```sh quickstart-NAME ```` runs under ``bash -e -o pipefail`` with a
fresh HOME and two placeholders filled in: ``/path/to/your/project`` is a temporary project,
and ``/path/to/hookswarm`` a checkout holding the real ``install.sh`` beside a ``.venv`` whose
``hookrun`` and ``swarm`` are this installation's (its ``python`` is a stand-in, so installing
costs nothing); ``install.sh --user`` then links them into the temporary ``~/.local/bin`` as it
would for a user, and nothing else puts them on PATH. ``claude`` is the pinned CLI, talking to
the scripted Messages API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hookswarm.hooks import spawn_protocol
from tests.fakes.messages_api import MessagesAPI, system_texts
from tests.helpers.claude_cli import REPO_ROOT, claude_env, kill_group, require_claude

pytestmark = pytest.mark.timeout(300)

QUICKSTARTS = ("hooks", "guard", "swarm")
README = REPO_ROOT / "README.md"
FENCE = re.compile(r"^```sh quickstart-(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def quickstarts() -> dict[str, str]:
    return dict(FENCE.findall(README.read_text()))


def checkout(root: Path) -> Path:
    """A hookswarm folder with the real install.sh and this installation's commands."""
    venv_bin = root / "hookswarm" / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "install.sh", venv_bin.parents[1] / "install.sh")
    (venv_bin / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv_bin / "python").chmod(0o755)
    for tool in ("hookrun", "swarm"):
        (venv_bin / tool).symlink_to(Path(sys.executable).with_name(tool))
    return venv_bin.parents[1]


def search_path(home: Path, claude_dir: Path) -> str:
    """``~/.local/bin``, the CLI, then the inherited PATH without any other hookrun or swarm."""
    inherited = [d for d in os.environ.get("PATH", "").split(os.pathsep)
                 if d and not any(Path(d, tool).exists() for tool in ("hookrun", "swarm"))]
    return os.pathsep.join([str(home / ".local" / "bin"), str(claude_dir), *inherited])


def run_block(name: str, tmp_path: Path, api: MessagesAPI) -> tuple[Path, str]:
    """Run one quick start in a new project; its stdout, after it exited 0."""
    block = quickstarts()[name]
    project, home, cli_dir = tmp_path / "project", tmp_path / "home", tmp_path / "cli"
    for folder in (project, home, cli_dir):
        folder.mkdir()
    (project / "notes.txt").write_text("a file of the project\n")
    (cli_dir / "claude").symlink_to(require_claude())
    script = (block.replace("/path/to/hookswarm", str(checkout(tmp_path)))
              .replace("/path/to/your/project", str(project)))
    env = {**claude_env(api, home), "PATH": search_path(home, cli_dir), "PYTHON": sys.executable}
    env.pop("CLAUDE_PROJECT_DIR", None)
    with subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          text=True, start_new_session=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        try:
            out, err = child.communicate(timeout=240)
        finally:
            kill_group(child.pid)
    assert child.returncode == 0, f"quickstart-{name} failed:\n{script}\nstderr: {err[-3000:]}"
    return project, out


def test_the_readme_has_exactly_the_three_quick_starts() -> None:
    assert sorted(quickstarts()) == sorted(QUICKSTARTS)


def test_faster_hooks_runs_the_hook_for_the_model_and_stats_show_it(
        tmp_path: Path, messages_api: MessagesAPI) -> None:
    project, out = run_block("hooks", tmp_path, messages_api)
    requests = [json.dumps(r.body) for r in messages_api.message_requests]
    assert any("notes.txt" in text for text in requests)
    assert re.search(r"^files\s+1\s+0\s", out, re.MULTILINE), out
    assert "hookrun run UserPromptSubmit" in (project / ".claude" / "settings.json").read_text()


def test_the_guard_tells_the_model_the_protocol(tmp_path: Path,
                                                messages_api: MessagesAPI) -> None:
    run_block("guard", tmp_path, messages_api)
    first = messages_api.message_requests[0]
    delivered = [text for text in system_texts(first) if spawn_protocol.TITLE in text]
    assert delivered, system_texts(first)
    assert spawn_protocol.RULES.strip() in delivered[0], system_texts(first)


def test_the_swarm_task_succeeds_and_its_log_is_printed(tmp_path: Path,
                                                        messages_api: MessagesAPI) -> None:
    project, out = run_block("swarm", tmp_path, messages_api)
    assert (project / "hello.txt").read_text() == "hello\n"
    assert re.search(r"^\s*succeeded\s+hello\b", out, re.MULTILINE), out
    assert out.endswith("hello\n")


def test_the_readme_quotes_the_protocol_the_model_is_told() -> None:
    quoted = "\n".join(f"> {line}".rstrip() for line in spawn_protocol.PROTOCOL.splitlines())
    assert quoted in README.read_text()
