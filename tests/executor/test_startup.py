"""The ``hookrun run`` start-up budget: a fresh interpreter must not import heavy modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.helpers.payloads import prompt

if TYPE_CHECKING:
    from tests.helpers.project import Project

HEAVY = ["pydantic", "anyio", "asyncio", "click", "orjson", "dataclasses", "pathlib",
         "tomllib", "filelock", "subprocess", "hookswarm.lib.swarm"]

PROBE = textwrap.dedent("""
    import io, json, os, sys
    before = set(sys.modules)  # what the interpreter itself loaded (site, .pth finders)
    sys.stdin = io.TextIOWrapper(io.BytesIO(sys.argv[1].encode()))
    from hookswarm.executor.cli import run
    run([])
    os.write(2, ("MODULES=" + json.dumps(sorted(set(sys.modules) - before))).encode())
""")


def added_modules(project: Project, payload: dict[str, object]) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(payload)],
                          capture_output=True, text=True, cwd=project.root, timeout=30,
                          env={"CLAUDE_PROJECT_DIR": str(project.root), "PATH": "/usr/bin:/bin"})
    listing = proc.stderr.rpartition("MODULES=")[2]
    return set(json.loads(listing))


@pytest.mark.parametrize("warm", [False, True], ids=["first-run", "cached-config"])
def test_call_hooks_run_without_heavy_imports(project: Project, warm: bool) -> None:
    project.module("ctx", "def hook(payload):\n    return 'ok'\n")
    project.config('[[hooks]]\nname = "c"\nevent = "UserPromptSubmit"\ncall = "ctx:hook"\n')
    if warm:
        project.run(prompt())
    modules = added_modules(project, {**prompt(), "cwd": str(project.root)})
    assert "ctx" in modules  # the probe really ran the hook
    allowed_cold = {"tomllib"} if not warm else set()
    assert sorted(m for m in HEAVY if m in modules and m not in allowed_cold) == []
