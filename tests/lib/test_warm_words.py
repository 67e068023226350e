"""A warm start only where the shell would pass a variable's value on as one word."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hookswarm.lib import warm

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("value", ["/home/me/My Projects/app", "/p/tab\there", "/p/new\nline",
                                   "/p/star*", "/p/what?", "/p/[ab]"])
@pytest.mark.parametrize("command", ["python3 $D/hook.py", 'python3 "$D"/hook.py',
                                     "python3 ${D}/hook.py"])
def test_a_value_the_shell_may_split_or_glob_starts_cold(tmp_path: Path, command: str,
                                                         value: str) -> None:
    """Unquoted, /bin/sh splits ``My Projects`` in two (the hook then fails, as in Claude
    Code); the warm plan cannot tell quoted from unquoted, so the shell decides."""
    assert warm.plan(command, environ={"D": value}, cwd=str(tmp_path)) is None


def test_a_plain_value_still_starts_warm(tmp_path: Path) -> None:
    planned = warm.plan("python3 $D/hook.py", environ={"D": "/home/me/app"}, cwd=str(tmp_path))
    assert planned == warm.Plan("python3", ("/home/me/app/hook.py",), script="/home/me/app/hook.py")
