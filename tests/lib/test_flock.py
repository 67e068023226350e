"""The one lock-waiting loop: it gives up at its deadline and takes a lock that was freed."""

from __future__ import annotations

import ast
import fcntl
import os
from typing import TYPE_CHECKING

from hookswarm.lib.flock import lock_within
from tests.helpers.install import PACKAGE_FOLDERS, modules_in

if TYPE_CHECKING:
    from pathlib import Path


def test_a_held_lock_is_given_up_on_at_the_deadline_and_taken_once_free(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    waiter = os.open(path, os.O_RDWR)  # another open file: flock sees two owners
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert lock_within(waiter, 0.02) is False
        fcntl.flock(holder, fcntl.LOCK_UN)
        assert lock_within(waiter, 0.02) is True
        assert lock_within(holder, 0) is False  # now the waiter holds it
    finally:
        os.close(holder)
        os.close(waiter)


def flock_calls(source: str) -> list[int]:
    """Lines that reach ``fcntl.flock``/``lockf`` directly."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "fcntl" and node.attr in {"flock", "lockf"})
            or (isinstance(node, ast.ImportFrom) and node.module == "fcntl")]


def test_flock_calls_finds_direct_use() -> None:
    assert flock_calls("import fcntl\nfcntl.flock(3, fcntl.LOCK_EX)\n") == [2]
    assert flock_calls("from fcntl import flock\n") == [1]
    assert flock_calls("fcntl.fcntl(3, fcntl.F_GETFD)\nlock_within(3, 0)\n") == []


def test_lib_flock_is_the_only_module_that_takes_a_flock() -> None:
    direct = {name: lines for name, path in modules_in(PACKAGE_FOLDERS)
              if (lines := flock_calls(path.read_text())) and name != "hookswarm.lib.flock"}
    assert direct == {}, "take the lock through hookswarm.lib.flock.lock_within"
