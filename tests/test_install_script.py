"""``install.sh --user``: hookrun and swarm linked into ~/.local/bin, and a word if it is off PATH.

The venv is a stand-in whose ``python`` accepts any arguments, so only install.sh's own steps
run (no packages are installed); the links and messages are what is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.helpers.claude_cli import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)


def checkout(tmp_path: Path) -> Path:
    """A copy of install.sh beside a stand-in .venv holding python, hookrun and swarm."""
    repo = tmp_path / "hookswarm"
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "install.sh", repo / "install.sh")
    for name in ("python", "hookrun", "swarm"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    return repo


def install(repo: Path, home: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PATH": path, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(repo / "install.sh"), *args], env=env, cwd=repo,
                          capture_output=True, text=True, timeout=50)


def test_user_links_both_commands_and_says_when_the_folder_is_off_path(tmp_path: Path) -> None:
    repo, home = checkout(tmp_path), tmp_path / "home"
    done = install(repo, home, "/usr/bin:/bin", "--user")
    assert done.returncode == 0, done.stderr
    local_bin = home / ".local" / "bin"
    for name in ("hookrun", "swarm"):
        assert os.readlink(local_bin / name) == str(repo / ".venv" / "bin" / name)
    assert f"{local_bin} is not on PATH" in done.stderr
    assert f'export PATH="{local_bin}:$PATH"' in done.stderr
    again = install(repo, home, f"{local_bin}:/usr/bin:/bin", "--user")
    assert again.returncode == 0
    assert "not on PATH" not in again.stderr


def test_without_user_nothing_is_linked(tmp_path: Path) -> None:
    repo, home = checkout(tmp_path), tmp_path / "home"
    assert install(repo, home, "/usr/bin:/bin").returncode == 0
    assert not (home / ".local").exists()
