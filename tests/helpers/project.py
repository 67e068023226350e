"""A temporary project that runs ``hookrun`` for real: its ``run`` verb and the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.helpers.install import HOOKRUN

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Ran:
    stdout: str
    stderr: str
    code: int
    project: Path

    @property
    def answer(self) -> dict[str, Any]:
        return json.loads(self.stdout) if self.stdout else {}

    @property
    def specific(self) -> dict[str, Any]:
        specific: dict[str, Any] = self.answer.get("hookSpecificOutput", {})
        return specific

    def records(self) -> list[dict[str, Any]]:
        path = self.project / ".swarm" / "hooks" / "runs.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]

    def hooks(self) -> dict[str, dict[str, Any]]:
        return {h["name"]: h for h in self.records()[-1]["hooks"]}


@dataclass
class Project:
    root: Path

    def config(self, toml: str) -> None:
        (self.root / ".claude").mkdir(exist_ok=True)
        (self.root / ".claude" / "hookrun.toml").write_text(textwrap.dedent(toml))

    def module(self, name: str, source: str) -> None:
        (self.root / f"{name}.py").write_text(textwrap.dedent(source))

    def script(self, name: str, source: str) -> str:
        path = self.root / name
        path.write_text(textwrap.dedent(source))
        return f"{sys.executable} {path}"

    def run(self, payload: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> Ran:
        return self.run_raw(json.dumps({"cwd": str(self.root), **payload}), *args, env=env)

    def run_raw(self, stdin: str, *args: str, env: dict[str, str] | None = None) -> Ran:
        environ = {**os.environ, "CLAUDE_PROJECT_DIR": str(self.root), **(env or {})}
        environ.pop("HOOKRUN_CONFIG", None)
        proc = subprocess.run([HOOKRUN, "run", *args], input=stdin, capture_output=True,
                              text=True, cwd=self.root, env=environ, timeout=30)
        return Ran(proc.stdout, proc.stderr, proc.returncode, self.root)


def hookrun(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project.root)}
    env.pop("HOOKRUN_CONFIG", None)
    return subprocess.run([HOOKRUN, *args], capture_output=True, text=True, cwd=project.root,
                          env=env, timeout=100)
