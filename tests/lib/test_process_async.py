"""The async half of the process choke point: pumps, stops, launch failures, grandchildren."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from typing import Any

import anyio
import pytest

from hookswarm.lib import process, process_async, process_scan
from tests.helpers.processes import gone, wait_until

IGNORES_TERM = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_pump_delivers_both_streams_and_feeds_stdin() -> None:
    script = "import sys; print(sys.stdin.read().upper()); print('err', file=sys.stderr)"
    chunks: list[tuple[int, bytes]] = []

    async def main() -> int:
        child = process_async.start_async([sys.executable, "-c", script], stdin=b"hello")
        assert isinstance(child, process_async.AsyncChild)
        return await child.pump(lambda stream, data: chunks.append((stream, data)))

    assert anyio.run(main) == 0
    assert b"".join(d for s, d in chunks if s == 1) == b"HELLO\n"
    assert b"".join(d for s, d in chunks if s == 2) == b"err\n"


def test_a_launch_failure_is_an_outcome() -> None:
    outcome = process_async.start_async(["/no/such/binary"])
    assert isinstance(outcome, process.ProcessOutcome)
    assert "No such file" in outcome.launch_error


@pytest.mark.parametrize(("argv", "env", "says"), [
    (["true"], {"A=B": "1"}, "illegal environment variable name"),
    (["true"], {"A": "x\0y"}, "null byte"),
    (["tr\0ue"], None, "null byte"),
    (["true"], {"A": 1}, "expected str"),
])
def test_arguments_popen_refuses_are_a_launch_failure_too(
        argv: list[str], env: dict[str, Any] | None, says: str) -> None:
    outcome = process_async.start_async(argv, env=env)
    assert isinstance(outcome, process.ProcessOutcome)
    assert says in outcome.launch_error


REPORTS_ITSELF = """
import json, os, sys
print(json.dumps({"cwd": os.getcwd(), "sid": os.getsid(0), "pid": os.getpid(),
                  "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
                  "stdin": sys.stdin.read()}))
"""


def _report(argv: list[str], **options: Any) -> dict[str, Any]:
    out = bytearray()

    async def main() -> int:
        child = process_async.start_async(argv, **options)
        assert isinstance(child, process_async.AsyncChild), child
        return await child.pump(lambda stream, data: out.extend(data) if stream == 1 else None)

    assert anyio.run(main) == 0
    report: dict[str, Any] = json.loads(out)
    return report


def test_workers_start_without_popen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker is one posix_spawn, its session, pipes and cwd set by the spawn itself."""
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("subprocess.Popen is off the swarm spawn path")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert _report([sys.executable, "-c", REPORTS_ITSELF])["stdin"] == ""


def test_a_spawned_child_gets_what_popen_gave_it(tmp_path: Any) -> None:
    """Own session, the cwd, three pipes and nothing else inherited, stdin fed."""
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)  # inherited fds a caller forgot to mark close-on-exec
    try:
        report = _report([sys.executable, "-c", REPORTS_ITSELF], cwd=str(tmp_path),
                         stdin=b"fed")
    finally:
        os.close(leaked)
    assert report["sid"] == report["pid"]
    assert report["cwd"] == str(tmp_path)
    assert report["fds"] == [0, 1, 2, 3]  # 3: the listing's own descriptor
    assert report["stdin"] == "fed"


def test_a_spawned_child_does_not_inherit_pythons_ignored_sigpipe() -> None:
    out = bytearray()

    async def main() -> int:
        child = process_async.start_async(["cat", "/proc/self/status"])
        assert isinstance(child, process_async.AsyncChild)
        return await child.pump(lambda stream, data: out.extend(data) if stream == 1 else None)

    assert anyio.run(main) == 0
    ignored = int(next(line for line in out.decode().splitlines()
                       if line.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1))


PRINTS_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


@pytest.mark.parametrize("extra", [
    {}, {"TASK": "t1"}, {"TASK": "t1", "MORE": "é"}, {"SHARED": "replaced", "TASK": "t2"},
])
def test_a_shared_environment_plus_a_childs_own_values_is_what_the_child_sees(
        extra: dict[str, str]) -> None:
    shared = process_async.Environment({"PATH": os.environ["PATH"], "SHARED": "s", "Ü": "ü"})
    env = shared.plus(extra)
    expected = {"PATH": os.environ["PATH"], "SHARED": "s", "Ü": "ü", **extra}
    assert dict(env) == expected
    out = bytearray()

    async def main() -> int:
        child = process_async.start_async([sys.executable, "-c", PRINTS_ENV], env=env)
        assert isinstance(child, process_async.AsyncChild), child
        return await child.pump(lambda stream, data: out.extend(data) if stream == 1 else None)

    assert anyio.run(main) == 0
    seen = json.loads(out)
    seen.pop("LC_CTYPE", None)  # the interpreter may coerce the C locale
    assert seen == expected
    assert dict(shared) == {"PATH": os.environ["PATH"], "SHARED": "s", "Ü": "ü"}  # unchanged


@pytest.mark.parametrize(("values", "says"), [
    ({"A=B": "1"}, "illegal environment variable name"),
    ({"": "1"}, "illegal environment variable name"),
    ({"A": "x\0y"}, "null byte"),
    ({"A": 1}, "expected str"),
])
def test_an_environment_refuses_what_exec_cannot_take(values: dict[str, Any], says: str) -> None:
    with pytest.raises((ValueError, TypeError), match=says):
        process_async.Environment(values)
    with pytest.raises((ValueError, TypeError), match=says):
        process_async.Environment({"PATH": "/bin"}).plus(values)


def test_a_bare_program_name_is_found_on_the_childs_path(tmp_path: Any) -> None:
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "only-here"
    tool.write_text(f"#!/bin/sh\nexec {sys.executable} -c '{REPORTS_ITSELF}'\n")
    tool.chmod(0o755)
    report = _report(["only-here"], env={**os.environ, "PATH": f"bin:{os.defpath}"},
                     cwd=str(tmp_path))  # a relative PATH entry is relative to the child's cwd
    assert report["cwd"] == str(tmp_path)
    refused = process_async.start_async(["only-here"], cwd=str(tmp_path))
    assert isinstance(refused, process.ProcessOutcome)
    assert refused.launch_error == "only-here: No such file or directory"


@pytest.mark.parametrize("path", ["ours", "the child's own"])
def test_a_program_found_but_not_executable_is_permission_denied(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "noexec").write_text("#!/bin/sh\necho ran\n")
    search = f"{tmp_path / 'bin'}:{os.defpath}"
    monkeypatch.setenv("PATH", search if path == "ours" else os.defpath)
    outcome = process_async.start_async(["noexec"], env={**os.environ, "PATH": search})
    assert isinstance(outcome, process.ProcessOutcome)
    assert outcome.launch_error == "noexec: Permission denied"


def test_a_missing_cwd_is_a_launch_failure(tmp_path: Any) -> None:
    outcome = process_async.start_async(["true"], cwd=str(tmp_path / "gone"))
    assert isinstance(outcome, process.ProcessOutcome)
    assert outcome.launch_error == "true: No such file or directory"


def test_running_out_of_descriptors_is_a_launch_failure_that_leaks_none() -> None:
    code = """
import os, resource
from hookswarm.lib import process_async
open_fds = lambda: len(os.listdir("/proc/self/fd"))
before = open_fds()
resource.setrlimit(resource.RLIMIT_NOFILE, (before + 3, resource.getrlimit(
    resource.RLIMIT_NOFILE)[1]))  # room for the listing and one pipe, not two
outcome = process_async.start_async(["true"], stdin=b"x")
print(outcome.launch_error, open_fds() == before)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=True)
    assert done.stdout == "true: Too many open files True\n"


def test_a_child_whose_exit_cannot_be_watched_is_stopped_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_descriptor_left(pid: int) -> int:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    before = len(os.listdir("/proc/self/fd"))
    child = process_async.start_async(["sleep", "60"], stdin=b"x")
    assert isinstance(child, process_async.AsyncChild)
    monkeypatch.setattr(os, "pidfd_open", no_descriptor_left)
    with pytest.raises(OSError, match="could not be watched, so it was stopped") as raised:
        anyio.run(child.pump, lambda stream, data: None)
    assert raised.value.errno == errno.EMFILE
    assert child.returncode == -signal.SIGKILL
    assert len(os.listdir("/proc/self/fd")) == before
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # killed and reaped already
    assert child.pid not in process_scan.STARTED
    assert anyio.run(lambda: child.stop(grace=0.1)) == -signal.SIGKILL  # nothing left to stop


def test_stop_kills_a_sigterm_ignoring_child_and_grandchild() -> None:
    output = bytearray()

    async def main() -> tuple[int, int]:
        child = process_async.start_async([sys.executable, "-c", IGNORES_TERM])
        assert isinstance(child, process_async.AsyncChild)
        ready = anyio.Event()

        def sink(_stream: int, data: bytes) -> None:
            output.extend(data)
            if b"ready" in output:
                ready.set()

        async with anyio.create_task_group() as group:
            group.start_soon(child.pump, sink)
            await ready.wait()
            code = await child.stop(grace=0.2)
        return code, child.pid

    code, pid = anyio.run(main)
    grandchild = int(output.split()[0])
    assert code == -9
    wait_until(lambda: gone(pid) and gone(grandchild), timeout=5)


def test_stop_while_the_pump_reads_a_flood_leaves_the_pipes_to_the_pump() -> None:
    """The watchdog stops a worker whose pump is still running: the pump drains and closes."""
    received = bytearray()

    async def main() -> int:
        child = process_async.start_async(["/bin/sh", "-c", "trap '' TERM; exec yes"])
        assert isinstance(child, process_async.AsyncChild)
        flowing = anyio.Event()

        def sink(_stream: int, data: bytes) -> None:
            received.extend(data)
            flowing.set()

        async with anyio.create_task_group() as group:
            group.start_soon(child.pump, sink)
            await flowing.wait()
            code = await child.stop(grace=0.05)
        return code

    for _ in range(5):  # the readers race the stop; a few rounds catch a premature close
        received.clear()
        assert anyio.run(main) == -9
        assert received.startswith(b"y\n")


def test_a_child_stopped_after_its_pump_was_cancelled_can_still_write() -> None:
    """Cancelling the pump leaves the pipes open: the child ends at its own pace, no SIGPIPE."""
    script = "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"

    async def main() -> int:
        child = process_async.start_async(["/bin/sh", "-c", script])
        assert isinstance(child, process_async.AsyncChild)
        ready = anyio.Event()

        def sink(stream: int, data: bytes) -> None:
            if b"ready" in data:
                ready.set()

        async with anyio.create_task_group() as group:
            group.start_soon(child.pump, sink)
            await ready.wait()
            group.cancel_scope.cancel()
        return await child.stop(grace=10)

    assert anyio.run(main) == 0


def test_a_grandchild_holding_the_pipe_does_not_hold_the_end() -> None:
    async def main() -> int:
        child = process_async.start_async(["sh", "-c", "sleep 60 & echo started"])
        assert isinstance(child, process_async.AsyncChild)
        with anyio.fail_after(10):
            return await child.pump(lambda _s, _d: None, drain=0.2)

    assert anyio.run(main) == 0
