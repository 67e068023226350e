"""What every backend provides: a health probe and ``start(launch)`` returning a worker.

A worker's output arrives as chunks (what heartbeats and logs watch) and its end is a
:class:`WorkerEnd`. Process backends (``claude``, ``command``) share :class:`ProcessWorker`;
an HTTP backend streams tokens through the same ``run(on_output)`` without a process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hookswarm.lib import process, process_async

if TYPE_CHECKING:
    from hookswarm.lib.swarm.task import Task

OnOutput = Callable[[bytes], None]


@dataclass(frozen=True, slots=True)
class Health:
    """A probe's answer: ``detail`` says what failed and how to fix it.

    ``missing``: the backend is not installed (its program cannot be started), so waiting
    for it to come back is pointless; its tasks fail at once with the fix.
    """

    ok: bool
    detail: str = ""
    missing: bool = False


@dataclass(frozen=True, slots=True)
class WorkerEnd:
    """How a worker ended by itself: ``clean`` is its own claim of success.

    ``model`` is the model the worker ran with, when the backend knows it; ``denials`` counts
    the tool calls that were refused (by the ownership guard or a permission rule).
    """

    clean: bool
    reason: str
    exit_code: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    unreachable: bool = False
    model: str = ""
    denials: int = 0

    @classmethod
    def launch_failed(cls, error: str) -> WorkerEnd:
        return cls(clean=False, reason=f"could not start the worker: {error}")


@dataclass(frozen=True, slots=True)
class Launch:
    """Everything a backend needs to start one worker."""

    task: Task
    prompt: str
    env: Mapping[str, str]


class Worker(Protocol):
    @property
    def pid(self) -> int | None: ...

    async def run(self, on_output: OnOutput) -> WorkerEnd:
        """Deliver output chunks as they arrive; return when the worker has ended."""
        ...

    async def stop(self, *, grace: float) -> None:
        """End the worker now: SIGTERM, ``grace`` seconds, SIGKILL (for processes)."""
        ...


class Backend(Protocol):
    name: str

    def health_key(self, task: Task) -> str:
        """Tasks with the same key share one health probe and one circuit breaker."""
        ...

    async def probe(self, task: Task, *, timeout: float) -> Health: ...

    def start(self, launch: Launch) -> Worker | WorkerEnd: ...


class OutputJudge(Protocol):
    """Reads a process worker's output on the side and decides how it ended."""

    def feed(self, stream: int, chunk: bytes) -> None: ...

    def judge(self, exit_code: int) -> WorkerEnd: ...


class ProcessWorker:
    """A worker that is one child process (and its group)."""

    def __init__(self, child: process_async.AsyncChild, judge: OutputJudge) -> None:
        self._child = child
        self._judge = judge

    @property
    def pid(self) -> int | None:
        return self._child.pid

    async def run(self, on_output: OnOutput) -> WorkerEnd:
        def sink(stream: int, chunk: bytes) -> None:
            self._judge.feed(stream, chunk)
            on_output(chunk)

        code = await self._child.pump(sink)
        return self._judge.judge(code)

    async def stop(self, *, grace: float) -> None:
        await self._child.stop(grace=grace)


def start_process(argv: list[str], launch: Launch, judge: OutputJudge, *,
                  stdin: bytes = b"") -> ProcessWorker | WorkerEnd:
    """Start a process worker through the one process choke point."""
    child = process_async.start_async(argv, cwd=launch.task.cwd, env=launch.env, stdin=stdin)
    if isinstance(child, process.ProcessOutcome):
        return WorkerEnd.launch_failed(child.launch_error)
    return ProcessWorker(child, judge)


def exit_reason(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exited with status {code}"

