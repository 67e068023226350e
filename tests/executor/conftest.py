"""Fixtures for running ``hookrun`` for real, in a temporary project."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.project import Project

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project directory with no hookrun.toml yet."""
    return Project(tmp_path)

