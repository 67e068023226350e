"""The process layer's async side: swarm's coordinator drives many children from one anyio loop.

Output arrives by callback as it is printed, the exit is seen through a pidfd, and a child's exit
takes its whole group down with it before the child is reaped (while its pid, and so its group
id, cannot be reused). Every child gets its own session; a launch failure is an outcome.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

import anyio

from hookswarm.lib import process_scan
from hookswarm.lib.process import READ_CHUNK, ProcessOutcome, kill_group

OutputSink = Callable[[int, bytes], None]
"""Receives ``(1 | 2, chunk)``: which stream the chunk came from, and the bytes."""


class AsyncChild:
    """A child started by :func:`start_async`, driven from an anyio event loop."""

    def __init__(self, proc: subprocess.Popen[bytes], stdin: bytes) -> None:
        self._proc = proc
        self._pidfd = os.pidfd_open(proc.pid)
        self._stdin = memoryview(stdin)
        self._wait_lock: anyio.Lock | None = None
        self._closed = False
        self._pumping = False
        self.returncode: int | None = None
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                os.set_blocking(stream.fileno(), False)

    @property
    def pid(self) -> int:
        return self._proc.pid

    async def wait(self) -> int:
        """Wait for the exit; kills what is left of the group, then reaps the child.

        Concurrent waiters queue on a lock, as trio's ``Process.wait`` does: the first one
        reaps, the others find the exit status.
        """
        if self._wait_lock is None:
            self._wait_lock = anyio.Lock()
        async with self._wait_lock:
            if self.returncode is None:
                await anyio.wait_readable(self._pidfd)
                kill_group(self.pid)
                self.returncode = self._proc.wait()
                process_scan.STARTED.discard(self.pid)
        return self.returncode

    async def pump(self, sink: OutputSink, *, drain: float = 0.5) -> int:
        """Deliver stdout/stderr chunks to ``sink`` until the child has exited; the exit status.

        Pipes still held open by an escaped grandchild are abandoned ``drain`` seconds after
        the exit, so a child's end is never hostage to its descendants. Cancelled before the
        exit, it leaves the pipes open for :meth:`stop`: a child that writes during its grace
        must not die of SIGPIPE instead of ending at its own pace.
        """
        self._pumping = True
        try:
            async with anyio.create_task_group() as readers:
                for stream in (self._proc.stdout, self._proc.stderr):
                    assert stream is not None
                    readers.start_soon(self._read, stream.fileno(),
                                       1 if stream is self._proc.stdout else 2, sink)
                if self._proc.stdin is not None:
                    readers.start_soon(self._feed)
                await self.wait()
                readers.cancel_scope.deadline = anyio.current_time() + drain
        finally:
            self._pumping = False
            if self.returncode is not None:
                self.close()
        return await self.wait()

    async def stop(self, *, grace: float) -> int:
        """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL the group."""
        if self.returncode is None:
            kill_group(self.pid, signal.SIGTERM)
            with anyio.move_on_after(grace):
                await self.wait()
            if self.returncode is None:
                kill_group(self.pid)
        code = await self.wait()
        if not self._pumping:  # a running pump still reads the pipes, and closes them itself
            self.close()
        return code

    def close(self) -> None:
        """Close the pipes and the pidfd (the child itself is left alone)."""
        if self._closed:
            return
        self._closed = True
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    @staticmethod
    async def _read(fd: int, stream: int, sink: OutputSink) -> None:
        while True:
            await anyio.wait_readable(fd)
            try:
                chunk = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                continue
            if not chunk:
                return
            sink(stream, chunk)

    async def _feed(self) -> None:
        assert self._proc.stdin is not None
        fd = self._proc.stdin.fileno()
        try:
            while self._stdin:
                await anyio.wait_writable(fd)
                try:
                    self._stdin = self._stdin[os.write(fd, self._stdin):]
                except BlockingIOError:
                    continue
        except (BrokenPipeError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._pidfd)


def start_async(
    argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
) -> AsyncChild | ProcessOutcome:
    """Start ``argv`` in a new session for an event loop; a launch failure is an outcome.

    ``stdin`` is fed as the child reads it; without it the child's stdin is ``/dev/null``.
    """
    try:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=dict(env) if env is not None else None, start_new_session=True,
        )
    except (OSError, ValueError, TypeError) as exc:  # bad env names, NUL bytes, non-str values
        return ProcessOutcome.not_started(f"{argv[0]}: {getattr(exc, 'strerror', None) or exc}")
    process_scan.STARTED.add(proc.pid)
    return AsyncChild(proc, stdin)
