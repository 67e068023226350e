"""Warm Python script hooks: a fork of the zygote and a fresh interpreter are indistinguishable.

Each script runs twice with the same stdin, environment and directory: once as Claude Code
starts it (``/bin/sh -c COMMAND``), once forked from a zygote; stdout, stderr and the exit code
must be byte for byte the same.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib import process, warm

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.timeout(60)
PYTHON = sys.executable

SCRIPTS = {
    "argv-file-path0": """
        import sys, os
        print(sys.argv, __file__, __name__, sys.path[0])
        print(os.getcwd(), sorted(k for k in globals() if not k.startswith("__")))
    """,
    "environment": """
        import os
        print(sorted((k, v) for k, v in os.environ.items() if k.startswith("HOOK_")))
        print(os.environ.get("PATH") == os.environ.get("EXPECT_PATH"))
    """,
    "stdin": """
        import sys, json
        payload = json.load(sys.stdin)
        print(payload["tool_name"], sys.stdin.encoding, sys.stdout.line_buffering)
    """,
    "exit-2": """
        import sys
        sys.stderr.write("NO\\n")
        sys.exit(2)
    """,
    "exit-text": """
        import sys
        print("before")
        sys.exit("a message")
    """,
    "uncaught": """
        def inner():
            raise ValueError("boom")
        print("partial", flush=True)
        inner()
    """,
    "atexit": """
        import atexit, sys
        atexit.register(lambda: print("AT-EXIT", file=sys.stderr))
        print("main")
    """,
    "fd-writes": """
        import os, sys
        print("buffered")
        os.write(1, b"raw-1\\n")
        os.write(2, b"raw-2\\n")
        sys.stdout.flush()
    """,
    "children": """
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "print('from-child')"], check=True)
        subprocess.run(["sh", "-c", "echo shell-child >&2"], check=True)
    """,
    "main-module": """
        import sys
        print(sys.modules["__main__"].__file__, type(__builtins__).__name__)
        print(hasattr(sys.modules["__main__"], "_run_hook"))
    """,
    "exit-codes": """
        import sys
        sys.exit(int(sys.argv[1] == "an-arg") + 2)
    """,
    "threads": """
        import threading
        threading.Thread(target=lambda: print("from-thread")).start()
        print("main-done")
    """,
    "shadowed-stdlib": """
        import json
        print(json.__file__.rsplit("/", 2)[-2:])
    """,
    "open-fds": """
        import os
        print(sorted(int(fd) for fd in os.listdir("/proc/self/fd")))
    """,
}


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[warm.Pool]:
    made = warm.Pool(str(tmp_path / "state"))
    yield made
    made.close()


def fresh(command: str, stdin: bytes, env: dict[str, str], cwd: Path) -> process.ProcessOutcome:
    child = process.start(process.shell_argv(command), cwd=str(cwd), env=env)
    assert isinstance(child, process.Child)
    return child.communicate(stdin, timeout=20, max_output=1 << 20)


def warmed(pool: warm.Pool, command: str, stdin: bytes, env: dict[str, str],
           cwd: Path) -> process.ProcessOutcome:
    child = pool.start(command, environ=env, cwd=str(cwd))
    assert isinstance(child, process.Child), "the command did not start warm"
    return child.communicate(stdin, timeout=20, max_output=1 << 20)


def environment(tmp_path: Path) -> dict[str, str]:
    path = f"{Path(PYTHON).parent}:/usr/bin:/bin"
    return {"PATH": path, "EXPECT_PATH": path, "HOOK_A": "1", "HOOK_B": "två",
            "HOME": str(tmp_path), "LANG": "C.UTF-8", "CLAUDE_PROJECT_DIR": str(tmp_path)}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@pytest.mark.parametrize("form", ["interpreter", "shebang", "module"])
def test_warm_and_fresh_agree(pool: warm.Pool, tmp_path: Path, name: str, form: str) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    script = hooks / f"{name.replace('-', '_')}.py"
    script.write_text(f"#!{PYTHON}\n" + textwrap.dedent(SCRIPTS[name]))
    if name == "shadowed-stdlib":  # the zygote imported json; the script's own must win
        (hooks / "json.py").write_text("__file__ = __file__\n")
        (tmp_path / "json.py").write_text("__file__ = __file__\n")
    script.chmod(0o755)
    command = {"interpreter": f"{PYTHON} hooks/{script.name} an-arg",
               "shebang": f"./hooks/{script.name} an-arg",
               "module": f"{PYTHON} -m hooks.{script.stem} an-arg"}[form]
    stdin = b'{"tool_name": "Bash"}'
    env = environment(tmp_path)
    expected = fresh(command, stdin, env, tmp_path)
    got = warmed(pool, command, stdin, env, tmp_path)
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.exit_code)


def test_modules_learned_from_scripts_are_preloaded_and_remembered(tmp_path: Path) -> None:
    script = tmp_path / "hook.py"
    script.write_text("import sys, email.message\nprint('email.message' in sys.modules)\n")
    env = environment(tmp_path)
    first = warm.Pool(str(tmp_path / "state"))
    try:
        ran = warmed(first, f"{PYTHON} hook.py", b"", env, tmp_path)
    finally:
        first.close()
    assert ran.stdout == b"True\n"
    learned = (tmp_path / "state" / warm.PRELOAD_FILE).read_text()
    assert "email.message" in learned
    again = warm.Pool(str(tmp_path / "state"))
    try:
        zygote_start = again.start(f"{PYTHON} hook.py", environ=env, cwd=str(tmp_path))
        assert isinstance(zygote_start, process.Child)
        zygote_start.communicate(b"", timeout=20, max_output=1024)
        zygote = next(iter(again._zygotes.values()))
        assert "email.message" in zygote.preloaded
    finally:
        again.close()


def test_a_zygote_replaced_during_a_hand_off_still_starts_that_hook(
        pool: warm.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hooks of one event: the second's new import replaces the zygote while the first is
    being handed to it; the first still runs (it lost its answer to a connection reset)."""
    (tmp_path / "first.py").write_text("print('FIRST')\n")
    (tmp_path / "second.py").write_text("import email.message\nprint('SECOND')\n")
    env = environment(tmp_path)
    hand_off = process.Zygote.start
    second: list[process.ProcessOutcome] = []

    def second_starts_meanwhile(zygote: process.Zygote, request: dict[str, object]
                                ) -> process.Child | process.ProcessOutcome:
        monkeypatch.setattr(process.Zygote, "start", hand_off)
        second.append(warmed(pool, f"{PYTHON} second.py", b"", env, tmp_path))
        return hand_off(zygote, request)

    monkeypatch.setattr(process.Zygote, "start", second_starts_meanwhile)
    first = warmed(pool, f"{PYTHON} first.py", b"", env, tmp_path)
    assert (first.stdout, second[0].stdout) == (b"FIRST\n", b"SECOND\n")
    assert len(pool._zygotes) == 1


@pytest.mark.parametrize("command", [
    "python3 -X dev hook.py", "python3 -u hook.py", "python3", "python3 -c 'print(1)'",
    "uv run hook.py", "python3 hook.py | tee log", "python3 hook.py > out", "cat x | python3",
    "python3 hook.py && true", "python3 hook.py # note", "python3 $UNSET/hook.py",
    "python3 '$HOME/hook.py'", "node hook.js", "bash hook.sh", "python3 -m", "python3 -m -x",
])
def test_what_only_a_shell_can_start_is_not_planned(tmp_path: Path, command: str) -> None:
    assert warm.plan(command, environ={"HOME": "/h"}, cwd=str(tmp_path)) is None


@pytest.mark.parametrize(("command", "expected"), [
    ("python3 hook.py a b", warm.Plan("python3", ("hook.py", "a", "b"), script="hook.py")),
    ('python3 "$DIR"/hook.py', warm.Plan("python3", ("/d/hook.py",), script="/d/hook.py")),
    ("python3.11 -m pkg.mod x", warm.Plan("python3.11", ("-m", "x"), module="pkg.mod")),
    ("/usr/bin/python ${DIR}/h.py", warm.Plan("/usr/bin/python", ("/d/h.py",),
                                               script="/d/h.py")),
])
def test_python_commands_are_planned(tmp_path: Path, command: str,
                                     expected: warm.Plan) -> None:
    assert warm.plan(command, environ={"DIR": "/d"}, cwd=str(tmp_path)) == expected


def test_a_shebang_script_is_planned_with_its_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "hook"
    script.write_text("#!/usr/bin/env python3\nprint(1)\n")
    script.chmod(0o755)
    assert warm.plan("./hook x", environ={}, cwd=str(tmp_path)) == warm.Plan(
        "python3", ("./hook", "x"), script="./hook")
    script.write_text("#!/bin/sh\necho 1\n")
    assert warm.plan("./hook x", environ={}, cwd=str(tmp_path)) is None


SHIM = """#!/bin/sh
# pyenv-style: the nearest .python-version, from the working directory up, picks the Python.
dir=$PWD
while :; do
  if [ -f "$dir/.python-version" ]; then version=$(cat "$dir/.python-version"); break; fi
  [ "$dir" = / ] && break
  dir=$(dirname "$dir")
done
case "$version" in
  other) exec "$VENVS/other/bin/python3" "$@" ;;
  *) exec "$DEFAULT_PYTHON" "$@" ;;
esac
"""


def test_a_shim_picks_the_interpreter_by_python_version(pool: warm.Pool, tmp_path: Path) -> None:

    venvs = tmp_path / "venvs"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venvs / "other")], check=True,
                   timeout=60)
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3").write_text(SHIM)
    (shims / "python3").chmod(0o755)
    pinned, plain = tmp_path / "pinned", tmp_path / "plain"
    for project in (pinned, plain):
        project.mkdir()
        (project / "hook.py").write_text("import sys\nprint(sys.prefix, sys.executable)\n")
    (pinned / ".python-version").write_text("other\n")
    env = {**environment(tmp_path), "PATH": f"{shims}:/usr/bin:/bin", "VENVS": str(venvs),
           "DEFAULT_PYTHON": PYTHON}
    for project, prefix in ((pinned, str(venvs / "other")), (plain, sys.prefix)):
        expected = fresh("python3 hook.py", b"", env, project)
        got = warmed(pool, "python3 hook.py", b"", env, project)
        assert got.stdout == expected.stdout
        assert expected.stdout.decode().split()[0] == prefix
    assert len(pool._zygotes) == 2  # one per interpreter
