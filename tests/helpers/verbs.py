"""``hookrun``'s click verbs run in-process against a temporary ``Workspace``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from click.testing import CliRunner, Result

from hookswarm.executor.commands import cli

if TYPE_CHECKING:
    from tests.helpers.workspace import Workspace


def hookrun(ws: Workspace, *args: str) -> Result:
    env = {**ws.environ, "CLAUDE_PROJECT_DIR": str(ws.project)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
