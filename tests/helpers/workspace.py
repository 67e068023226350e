"""A temporary project and home for the settings tests (the fixtures are in conftest)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

FAKE_HOOKRUN = "/opt/hook swarm/bin/hookrun"  # a space, so the entry must quote it


@dataclass
class Workspace:
    """A project directory and a home directory, both temporary."""

    project: Path
    home: Path
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def claude(self) -> Path:
        return self.project / ".claude"

    def config(self, toml: str) -> Path:
        path = self.claude / "hookrun.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(toml))
        return path

    def settings(self, name: str = "settings.json") -> Path:
        return self.claude / name

    def write_settings(self, text: str, name: str = "settings.json") -> Path:
        path = self.settings(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        return path


TWO_EVENTS = """
    [[hooks]]
    name = "guard"
    event = "PreToolUse"
    matcher = "Bash"
    command = "true"
    timeout = 5

    [[hooks]]
    name = "context"
    event = "UserPromptSubmit"
    command = "echo hi"
    timeout = 10
"""
