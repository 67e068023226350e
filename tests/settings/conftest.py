"""Fixtures for the settings tests: a project with hookrun.toml, a home of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.settings.workspace import TWO_EVENTS, Workspace


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

