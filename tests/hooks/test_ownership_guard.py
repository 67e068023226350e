"""The ownership guard hook: which writes it denies, and that it speaks the hook protocol."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.hooks.ownership_guard import decide, parse_args

if TYPE_CHECKING:
    from pathlib import Path


def call(tool: str, path: str | None, key: str = "file_path") -> dict[str, Any]:
    return {"hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": {} if path is None else {key: path, "content": "x"}}


@pytest.mark.parametrize(("payload", "owns", "denied"), [
    (call("Write", "calc.py"), ["calc.py"], False),
    (call("Write", "other.py"), ["calc.py"], True),
    (call("Edit", "src/a.py"), ["src/**"], False),
    (call("MultiEdit", "tests/a.py"), ["src/**"], True),
    (call("NotebookEdit", "nb.ipynb", key="notebook_path"), ["*.ipynb"], False),
    (call("NotebookEdit", "nb.ipynb", key="notebook_path"), ["*.py"], True),
    (call("Write", "../escape.py"), ["**"], True),
    (call("Write", "anything.py"), [], True),
    (call("Read", "other.py"), ["calc.py"], False),
    (call("Bash", None), ["calc.py"], False),
    (call("Write", None), ["calc.py"], True),
    ("not a dict", ["calc.py"], True),
    ({"tool_name": "Write", "tool_input": "calc.py"}, ["calc.py"], True),
    ({"tool_name": "Edit", "tool_input": ["calc.py"]}, ["calc.py"], True),
    ({"tool_name": "Write"}, ["calc.py"], True),
])
def test_decide(tmp_path: Path, payload: Any, owns: list[str], denied: bool) -> None:
    answer = decide(payload, cwd=str(tmp_path), owns=owns)
    if not denied:
        assert answer is None
        return
    assert answer is not None
    output = answer["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert "ownership guard" in output["permissionDecisionReason"]


def test_absolute_paths_are_judged_against_absolute_globs(tmp_path: Path) -> None:
    owns = [str(tmp_path / "src" / "**")]
    inside, outside = str(tmp_path / "src" / "a.py"), str(tmp_path / "a.py")
    assert decide(call("Write", inside), cwd=str(tmp_path), owns=owns) is None
    assert decide(call("Write", outside), cwd=str(tmp_path), owns=owns) is not None


@pytest.mark.parametrize(("args", "parsed"), [
    (["--cwd", "/p", "--own", "a", "--own", "b"], ("/p", ["a", "b"])),
    (["--cwd", "/p"], ("/p", [])),
    (["--own", "a"], None),
    (["--cwd"], None),
    (["--bogus", "x", "--cwd", "/p"], None),
])
def test_parse_args(args: list[str], parsed: tuple[str, list[str]] | None) -> None:
    assert parse_args(args) == parsed


def run_guard(tmp_path: Path, payload: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "hookswarm.hooks.ownership_guard", *args]
    return subprocess.run(argv, input=payload, capture_output=True, text=True, cwd=tmp_path,
                          timeout=30, check=False)


def test_as_a_process_it_prints_a_deny_and_exits_0(tmp_path: Path) -> None:
    done = run_guard(tmp_path, json.dumps(call("Write", "b.py")), "--cwd", str(tmp_path),
                     "--own", "a.py")
    assert done.returncode == 0
    assert json.loads(done.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_as_a_process_an_owned_write_prints_nothing(tmp_path: Path) -> None:
    done = run_guard(tmp_path, json.dumps(call("Write", "a.py")), "--cwd", str(tmp_path),
                     "--own", "a.py")
    assert (done.returncode, done.stdout) == (0, "")


@pytest.mark.parametrize("garbage", ["{not json", "[" * 100000, '{"tool_input": ' * 50000])
def test_garbage_stdin_fails_closed(tmp_path: Path, garbage: str) -> None:
    done = run_guard(tmp_path, garbage, "--cwd", str(tmp_path), "--own", "a.py")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_bad_arguments_exit_2_with_usage(tmp_path: Path) -> None:
    done = run_guard(tmp_path, "{}", "--own", "a.py")
    assert done.returncode == 2
    assert "usage:" in done.stderr
