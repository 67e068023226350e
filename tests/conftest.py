"""Fixtures shared by every tier; helpers live in tests/helpers, fake servers in tests/fakes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.fakes.messages_api import MessagesAPI
from tests.helpers.install import PACKAGE_FOLDERS, not_installed
from tests.helpers.workspace import TWO_EVENTS, Workspace

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def pytest_configure(config: pytest.Config) -> None:
    if missing := not_installed(PACKAGE_FOLDERS):
        raise pytest.UsageError(f"the installed hookswarm is not this working tree (see "
                                f"{', '.join(missing)}): run ./install.sh --dev again")


@pytest.fixture(autouse=True, scope="session")
def real_home_is_off_limits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point HOME at a regular file, so any write under ``~`` fails with NotADirectoryError.

    Tests that need a home directory make their own (``run_claude`` gives each CLI run one).
    """
    blocker = tmp_path_factory.mktemp("off-limits") / "HOME-is-off-limits-in-tests"
    blocker.write_text("Tests must not use the real home directory; give the code a tmp HOME.\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(blocker))
        patch.delenv("CLAUDE_CONFIG_DIR", raising=False)
        yield


@pytest.fixture
def messages_api() -> Iterator[MessagesAPI]:
    """A started fake Messages API answering "done" until the test sets ``.script``."""
    with MessagesAPI() as api:
        yield api


@pytest.fixture
def claude_project(tmp_path: Path) -> Path:
    """An empty project directory with a ``.claude/`` folder, for ``run_claude``."""
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    return project


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty project and home; ``environ`` points HOME at the home, no CLAUDE_CONFIG_DIR."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    environ = {k: v for k, v in os.environ.items()
               if k not in ("CLAUDE_CONFIG_DIR", "CLAUDE_PROJECT_DIR", "HOOKRUN_CONFIG")}
    environ["HOME"] = str(home)
    return Workspace(project, home, environ)


@pytest.fixture
def configured(workspace: Workspace) -> Workspace:
    """A workspace whose hookrun.toml has a Bash guard (5 s) and a prompt context hook (10 s)."""
    workspace.config(TWO_EVENTS)
    return workspace
