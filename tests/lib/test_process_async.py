"""The async half of the process choke point: pumps, stops, launch failures, grandchildren."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import pytest

from hookswarm.lib import process, process_async
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
