"""The one place hookswarm starts child processes.

Every child gets its own session, so stopping it signals the whole process group and
grandchildren go with it. A child that cannot be started becomes an ordinary outcome with
``launch_error`` set, never an exception. The blocking API here serves ``hookrun run`` (threads,
no event loop on the hot path). Its siblings: ``process_async`` drives children from swarm's
event loop, ``process_scan`` reads ``/proc`` (workers left behind, orphans adopted); these
three are the process layer, and nothing else in the package starts a process.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SHELL = "/bin/sh"
READ_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """How a child ended and what it printed (stdout capped at the caller's limit)."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    cancelled: bool = False
    oversize: bool = False
    launch_error: str = ""

    @classmethod
    def not_started(cls, error: str) -> ProcessOutcome:
        return cls(exit_code=None, stdout=b"", stderr=b"", launch_error=error)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by ``pid``; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Child:
    """A started child process that one thread drives and any thread may cancel."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._cancelled = threading.Event()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def cancel(self) -> None:
        """Kill the child's whole group; the driving thread then reports ``cancelled``."""
        self._cancelled.set()
        kill_group(self._proc.pid)

    def communicate(self, stdin: bytes, *, timeout: float, max_output: int) -> ProcessOutcome:
        """Feed ``stdin``, collect output until the child exits, times out or overflows."""
        io = _PipeIO(self._proc, stdin, max_output)
        deadline = time.monotonic() + timeout
        timed_out = io.pump(deadline)
        if timed_out or io.oversize:
            kill_group(self._proc.pid)
        exit_code = self._reap()
        # A child that finished on its own before the cancel landed keeps its real outcome.
        cancelled = self._cancelled.is_set() and exit_code < 0 and not timed_out
        return ProcessOutcome(
            exit_code=None if (timed_out or cancelled) else exit_code,
            stdout=bytes(io.stdout),
            stderr=bytes(io.stderr),
            timed_out=timed_out,
            cancelled=cancelled,
            oversize=io.oversize,
        )

    def _reap(self) -> int:
        try:
            return self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            kill_group(self._proc.pid)
            return self._proc.wait()


class _PipeIO:
    """Non-blocking stdin/stdout/stderr pumping for one child, ended by its exit (pidfd)."""

    def __init__(self, proc: subprocess.Popen[bytes], stdin: bytes, max_output: int) -> None:
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.oversize = False
        self._proc = proc
        self._pending = memoryview(stdin)
        self._max = max_output
        self._sel = selectors.DefaultSelector()

    def pump(self, deadline: float) -> bool:
        """Run until the child has exited and its pipes are drained; True on timeout."""
        pidfd = self._register()
        try:
            while self._sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                for key, _ in self._sel.select(remaining):
                    if key.fileobj == pidfd:
                        self._drain_after_exit(pidfd)
                        return False
                    self._service(key)
                if self.oversize:
                    return False
            return False
        finally:
            self._close(pidfd)

    def _register(self) -> int:
        proc = self._proc
        assert proc.stdin and proc.stdout and proc.stderr
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            os.set_blocking(stream.fileno(), False)
        if self._pending:
            self._sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        self._sel.register(proc.stdout, selectors.EVENT_READ, self.stdout)
        self._sel.register(proc.stderr, selectors.EVENT_READ, self.stderr)
        pidfd = os.pidfd_open(proc.pid)
        self._sel.register(pidfd, selectors.EVENT_READ)
        return pidfd

    def _service(self, key: selectors.SelectorKey) -> None:
        stream = key.fileobj
        if key.data is None:
            self._write_some(stream)
            return
        try:
            chunk = os.read(key.fd, READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self._sel.unregister(stream)
            return
        buffer: bytearray = key.data
        buffer += chunk
        self._cap(buffer)

    def _cap(self, buffer: bytearray) -> None:
        """Only stdout is the answer: too much of it fails the child; stderr is just cut."""
        if len(buffer) > self._max:
            self.oversize = self.oversize or buffer is self.stdout
            del buffer[self._max:]

    def _write_some(self, stream: Any) -> None:
        proc = self._proc
        assert proc.stdin
        try:
            written = os.write(proc.stdin.fileno(), self._pending)
        except BlockingIOError:
            return
        except BrokenPipeError:
            written = len(self._pending)
        self._pending = self._pending[written:]
        if not self._pending:
            self._sel.unregister(stream)
            proc.stdin.close()

    def _drain_after_exit(self, pidfd: int) -> None:
        """The child exited: take what its pipes still hold without waiting on grandchildren."""
        self._sel.unregister(pidfd)
        readers = [key for key in self._sel.get_map().values() if key.data is not None]
        for key in readers:
            while not self.oversize:
                try:
                    chunk = os.read(key.fd, READ_CHUNK)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                buffer: bytearray = key.data
                buffer += chunk
                self._cap(buffer)

    def _close(self, pidfd: int) -> None:
        self._sel.close()
        os.close(pidfd)
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def start(
    argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Child | ProcessOutcome:
    """Start ``argv`` in a new session with piped stdio; a launch failure is an outcome."""
    try:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd, env=dict(env) if env is not None else None, start_new_session=True,
        )
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in an argument or env value
        return ProcessOutcome.not_started(f"{argv[0]}: {getattr(exc, 'strerror', None) or exc}")
    return Child(proc)


def shell_argv(command: str) -> list[str]:
    """How Claude Code runs a command hook: ``/bin/sh -c COMMAND``."""
    return [SHELL, "-c", command]
