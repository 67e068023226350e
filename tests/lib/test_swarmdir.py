"""``.swarm/`` never shows in ``git status``, whoever creates it."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarmdir import make_dirs
from tests.helpers.payloads import prompt
from tests.helpers.project import Project

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)


def git_status(root: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_hookruns_records_leave_git_status_clean(repo: Path) -> None:
    project = Project(repo)
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncommand = "echo hi"\n')
    before = git_status(repo)
    ran = project.run(prompt())
    assert ran.records()  # the run wrote under .swarm/
    assert git_status(repo) == before == "?? .claude/hookrun.toml\n"


def test_the_swarm_store_leaves_git_status_clean(repo: Path) -> None:
    store = Store.for_project(repo)
    (store.root / "results" / "t.json").write_text(json.dumps({}))
    assert git_status(repo) == ""


@pytest.mark.parametrize(("made", "ignore_file"), [
    (".swarm/hooks", ".swarm/.gitignore"),
    (".swarm", ".swarm/.gitignore"),
    ("a/.swarm/b/c", "a/.swarm/.gitignore"),
])
def test_make_dirs_ignores_the_swarm_folder_it_creates(tmp_path: Path, made: str,
                                                       ignore_file: str) -> None:
    make_dirs(str(tmp_path / made))
    assert (tmp_path / made).is_dir()
    assert (tmp_path / ignore_file).read_text() == "*\n"


def test_a_folder_outside_swarm_gets_no_gitignore(tmp_path: Path) -> None:
    make_dirs(str(tmp_path / "scratch" / "hooks"))
    assert list(tmp_path.rglob(".gitignore")) == []


def test_a_gitignore_of_the_users_own_is_kept(tmp_path: Path) -> None:
    (tmp_path / ".swarm").mkdir()
    (tmp_path / ".swarm" / ".gitignore").write_text("results/\n")
    make_dirs(str(tmp_path / ".swarm" / "hooks"))
    assert (tmp_path / ".swarm" / ".gitignore").read_text() == "results/\n"
