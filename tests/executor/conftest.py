"""Fixtures for running ``hookrun`` for real, in a temporary project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.project import Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project directory with no hookrun.toml yet."""
    return Project(tmp_path)

