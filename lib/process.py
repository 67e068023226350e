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
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket
    from collections.abc import Mapping, Sequence

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

    def __init__(self, proc: subprocess.Popen[bytes] | _WarmProc) -> None:
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

    def __init__(self, proc: subprocess.Popen[bytes] | _WarmProc, stdin: bytes,
                 max_output: int) -> None:
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
        assert proc.stdin
        assert proc.stdout
        assert proc.stderr
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            os.set_blocking(stream.fileno(), False)
        if self._pending:
            self._sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        self._sel.register(proc.stdout, selectors.EVENT_READ, self.stdout)
        self._sel.register(proc.stderr, selectors.EVENT_READ, self.stderr)
        pidfd = proc.exit_fd() if isinstance(proc, _WarmProc) else os.pidfd_open(proc.pid)
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
        if not isinstance(self._proc, _WarmProc):
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


def start_detached(argv: Sequence[str], *, cwd: str, env: Mapping[str, str], log: str,
                   ready_within: float) -> int | str:
    """Start a long-lived ``argv`` in its own session, its stderr appended to ``log``; return
    its pid once it prints a line on stdout, or why not (``ready_within`` seconds at most)."""
    try:
        with open(log, "ab") as errors:
            proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=errors, cwd=cwd, env=dict(env),
                                    start_new_session=True)
    except (OSError, ValueError) as exc:
        return f"{argv[0]}: {getattr(exc, 'strerror', None) or exc}"
    assert proc.stdout is not None
    with proc.stdout, selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        answered = bool(selector.select(ready_within))
        line = proc.stdout.readline() if answered else b""
    if line.strip():
        return proc.pid
    with contextlib.suppress(ProcessLookupError):
        kill_group(proc.pid)
    code = proc.wait()
    if answered:  # its stdout closed without a line: it ended
        return f"{argv[0]} exited with {code} before it was ready (see {log})"
    return f"{argv[0]} did not say it was ready within {ready_within:g} s (see {log})"


class Zygote:
    """A warm interpreter (``zygote_main``) that forks one child per hook, on a unix socket."""

    def __init__(self, proc: subprocess.Popen[bytes], socket_path: str,
                 preloaded: tuple[str, ...]) -> None:
        self._proc = proc
        self.socket_path = socket_path
        self.preloaded = preloaded

    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        """End it: its stdin closing is what it waits for; the kill is for a stuck one."""
        if self._proc.stdin:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            kill_group(self._proc.pid)
            self._proc.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)

    def start(self, request: Mapping[str, Any]) -> Child | ProcessOutcome:
        """A hook forked from the zygote: argv, env, cwd and ``__main__`` per ``request``."""
        import array  # the zygote only: hookrun run without warm hooks never needs it
        import socket  # the zygote only, likewise

        pipes = [os.pipe() for _ in range(3)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0]]
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.socket_path)
            conn.sendmsg([json.dumps(request).encode() + b"\n"],
                         [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", theirs))])
            pid = int(_line(conn, timeout=5.0))
        except (OSError, ValueError) as exc:
            conn.close()
            for fd in ours:
                os.close(fd)
            return ProcessOutcome.not_started(f"warm start: {exc}")
        finally:
            for fd in theirs:
                os.close(fd)
        return Child(_WarmProc(pid, ours, conn))


class _WarmProc:
    """What ``Child`` needs of a Popen, for a hook the zygote forked (not our child)."""

    def __init__(self, pid: int, fds: Sequence[int], conn: socket.socket) -> None:
        self.pid = pid
        self.stdin: Any = os.fdopen(fds[0], "wb", buffering=0)
        self.stdout: Any = os.fdopen(fds[1], "rb", buffering=0)
        self.stderr: Any = os.fdopen(fds[2], "rb", buffering=0)
        self._conn = conn
        self._code: int | None = None

    def exit_fd(self) -> int:
        """Readable once the zygote reports the exit code."""
        return self._conn.fileno()

    def wait(self, timeout: float | None = None) -> int:
        if self._code is None:
            try:
                text = _line(self._conn, timeout=timeout)
            except TimeoutError:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0) from None
            except OSError:
                text = "-9"
            self._code = int(text) if text.lstrip("-").isdigit() else -9
            self._conn.close()
        return self._code


def _line(conn: socket.socket, *, timeout: float | None) -> str:
    """One short line, read a byte at a time so nothing after it leaves the socket."""

    conn.settimeout(timeout)
    data = bytearray()
    while not data.endswith(b"\n"):
        try:
            byte = conn.recv(1)
        except TimeoutError:
            raise TimeoutError from None
        if not byte:
            break
        data += byte
    return data.decode().strip()


def start_zygote(interpreter: str, *, env: Mapping[str, str], socket_path: str,
                 preload: Sequence[str], ready_within: float = 10.0) -> Zygote | str:
    """Start ``zygote_main`` under ``interpreter``; the zygote, or why it did not start."""
    source_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zygote_main.py")
    with open(source_path, encoding="utf-8") as handle:
        source = handle.read()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    try:
        proc = subprocess.Popen(
            [interpreter, "-c", source, socket_path, json.dumps(list(preload))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
            env=dict(env), start_new_session=True)
    except (OSError, ValueError) as exc:
        return f"{interpreter}: {getattr(exc, 'strerror', None) or exc}"
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        line = proc.stdout.readline() if selector.select(ready_within) else b""
    proc.stdout.close()
    if line.strip() != b"ready":
        kill_group(proc.pid)
        proc.wait()
        return f"{interpreter}: the warm zygote did not start"
    return Zygote(proc, socket_path, tuple(preload))


def shell_argv(command: str) -> list[str]:
    """How Claude Code runs a command hook: ``/bin/sh -c COMMAND``."""
    return [SHELL, "-c", command]
