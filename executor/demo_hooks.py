"""The 21 example hooks ``hookrun demo`` runs: context providers, checks and a guard.

Each is an ordinary ``call`` hook. Run as ``python -m hookswarm.executor.demo_hooks NAME`` it is
the same hook as a separate command-hook process, which is how Claude Code would run it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hookswarm.lib.protocol import Block

Hook = Callable[[dict[str, Any]], Any]
_SECRET = re.compile(r"(sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,})")
_SCAN_LIMIT = 400


def _root(payload: dict[str, Any]) -> Path:
    return Path(payload.get("cwd") or os.getcwd())


def _git(payload: dict[str, Any], *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=_root(payload), capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _files(payload: dict[str, Any]) -> Iterator[Path]:
    skip = {".git", ".venv", "node_modules", "__pycache__", ".swarm"}
    count = 0
    for folder, dirs, names in os.walk(_root(payload)):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in names:
            count += 1
            if count > _SCAN_LIMIT:
                return
            yield Path(folder) / name


def git_branch(payload: dict[str, Any]) -> str:
    return f"git branch: {_git(payload, 'rev-parse', '--abbrev-ref', 'HEAD') or '(no repo)'}"


def git_dirty(payload: dict[str, Any]) -> str:
    changed = [line for line in _git(payload, "status", "--porcelain").splitlines() if line]
    return f"uncommitted files: {len(changed)}"


def recent_commits(payload: dict[str, Any]) -> str:
    return "recent commits:\n" + (_git(payload, "log", "-3", "--oneline") or "(none)")


def todo_count(payload: dict[str, Any]) -> str:
    total = 0
    for path in _files(payload):
        if path.suffix in {".py", ".md", ".js", ".ts"}:
            try:
                total += path.read_text(errors="ignore").count("TODO")
            except OSError:
                continue
    return f"TODO markers: {total}"


def python_version(payload: dict[str, Any]) -> str:
    return f"python: {platform.python_version()}"


def disk_free(payload: dict[str, Any]) -> str:
    usage = shutil.disk_usage(_root(payload))
    return f"disk free: {usage.free // (1 << 30)} GiB"


def load_average(payload: dict[str, Any]) -> str:
    return "load average: " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def local_time(payload: dict[str, Any]) -> str:
    return time.strftime("local time: %Y-%m-%d %H:%M")


def secret_guard(payload: dict[str, Any]) -> None:
    if _SECRET.search(str(payload.get("prompt", ""))):
        raise Block("the prompt contains what looks like an API key; remove it and resend")


def prompt_size(payload: dict[str, Any]) -> str | None:
    words = len(str(payload.get("prompt", "")).split())
    return f"note: a long prompt ({words} words)" if words > 400 else None


def large_files(payload: dict[str, Any]) -> str | None:
    big = [p.name for p in _files(payload) if _size(p) > 1 << 20]
    return f"large files: {', '.join(big[:5])}" if big else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def virtualenv(payload: dict[str, Any]) -> str:
    return f"virtualenv: {os.environ.get('VIRTUAL_ENV') or '(none active)'}"


def project_type(payload: dict[str, Any]) -> str:
    markers = {"pyproject.toml": "python", "package.json": "node", "Cargo.toml": "rust",
               "go.mod": "go"}
    kinds = [kind for name, kind in markers.items() if (_root(payload) / name).exists()]
    return f"project type: {', '.join(kinds) or 'unknown'}"


def test_command(payload: dict[str, Any]) -> str | None:
    root = _root(payload)
    if (root / "pyproject.toml").exists():
        return "tests: run `python -m pytest`"
    if (root / "package.json").exists():
        return "tests: run `npm test`"
    return None


def lint_config(payload: dict[str, Any]) -> str | None:
    names = ["ruff.toml", ".ruff.toml", ".eslintrc.json", ".flake8", "mypy.ini"]
    found = [name for name in names if (_root(payload) / name).exists()]
    return f"linters configured: {', '.join(found)}" if found else None


def recently_modified(payload: dict[str, Any]) -> str:
    newest = sorted(_files(payload), key=lambda p: _mtime(p), reverse=True)[:3]
    root = _root(payload)
    return "recently modified: " + ", ".join(str(p.relative_to(root)) for p in newest)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def lockfile_fresh(payload: dict[str, Any]) -> str | None:
    root = _root(payload)
    pairs = [("pyproject.toml", "uv.lock"), ("package.json", "package-lock.json")]
    stale = [lock for manifest, lock in pairs
             if (root / lock).exists() and _mtime(root / manifest) > _mtime(root / lock)]
    return f"stale lock files: {', '.join(stale)}" if stale else None


def ci_config(payload: dict[str, Any]) -> str | None:
    root = _root(payload)
    found = [p for p in (".github/workflows", ".gitlab-ci.yml", ".ci") if (root / p).exists()]
    return f"CI: {', '.join(found)}" if found else None


def docs_present(payload: dict[str, Any]) -> str:
    candidates = ("README.md", "CLAUDE.md", "CONTRIBUTING.md")
    names = [n for n in candidates if (_root(payload) / n).exists()]
    return f"docs: {', '.join(names) or 'none'}"


def destructive_guard(payload: dict[str, Any]) -> None:
    if re.search(r"rm\s+-rf\s+/(\s|$)|force[- ]push.*main", str(payload.get("prompt", ""))):
        raise Block("refusing a destructive request; ask again with a narrower scope")


def memory_size(payload: dict[str, Any]) -> str | None:
    path = _root(payload) / "CLAUDE.md"
    if not path.exists():
        return None
    return f"CLAUDE.md: {len(path.read_text(errors='ignore').split())} words"


HOOKS: dict[str, Hook] = {hook.__name__: hook for hook in (
    git_branch, git_dirty, recent_commits, todo_count, python_version, disk_free, load_average,
    local_time, secret_guard, prompt_size, large_files, virtualenv, project_type, test_command,
    lint_config, recently_modified, lockfile_fresh, ci_config, docs_present, destructive_guard,
    memory_size)}


def main(argv: list[str]) -> int:
    """Run one hook as a command hook: payload on stdin, answer on stdout, exit 2 to block."""
    payload = json.load(sys.stdin)
    try:
        answer = HOOKS[argv[0]](payload)
    except Block as exc:
        sys.stderr.write(exc.reason)
        return 2
    if answer is not None:
        print(answer if isinstance(answer, str) else json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
