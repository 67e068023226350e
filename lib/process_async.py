"""The process layer's async side: swarm's coordinator drives many children from one anyio loop.

Output arrives by callback as it is printed, the exit is seen through a pidfd, and a child's exit
takes its whole group down with it before the child is reaped (while its pid, and so its group
id, cannot be reused). Every child gets its own session; a launch failure is an outcome.

Children start through libc's ``posix_spawn`` (vfork and exec, nothing else in between;
``os.posix_spawn`` can neither change the working directory nor close inherited descriptors,
and ``subprocess`` will not use it for a new session). The child gets what
``Popen(..., start_new_session=True, close_fds=True)`` gave it: a new session, only the three
pipes (or ``/dev/null`` for stdin), SIGPIPE and SIGXFSZ back at their defaults, and the program
looked up in the ``PATH`` of its own environment (by ``posix_spawnp`` inside the child when that
``PATH`` is ours, which spares a burst of spawns a search in Python for each).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence

import anyio

from hookswarm.lib import process_scan
from hookswarm.lib.process import READ_CHUNK, ProcessOutcome, kill_group

OutputSink = Callable[[int, bytes], None]
"""Receives ``(1 | 2, chunk)``: which stream the chunk came from, and the bytes."""

_libc = ctypes.CDLL(None, use_errno=True)
_SETSIGDEF, _SETSID = 0x04, 0x80  # glibc's POSIX_SPAWN_* flags
_OPAQUE = 1024  # larger than glibc's posix_spawn_file_actions_t, posix_spawnattr_t, sigset_t
_RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)  # ignored by Python, default for the child
_FS_ENCODING = sys.getfilesystemencoding()
_closefrom = getattr(_libc, "posix_spawn_file_actions_addclosefrom_np", None)


class AsyncChild:
    """A child started by :func:`start_async`, driven from an anyio event loop."""

    def __init__(self, pid: int, pipes: tuple[int | None, int, int], stdin: bytes) -> None:
        self._pid = pid
        self._pidfd: int | None = None  # opened on first use, off a burst's spawn path
        self._stdin_fd, self._stdout_fd, self._stderr_fd = pipes
        self._stdin = memoryview(stdin)
        self._wait_lock: anyio.Lock | None = None
        self._closed = False
        self._pumping = False
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return self._pid

    def _watched(self) -> int:
        """The child's pidfd, its pipes made non-blocking on first use.

        Until it is reaped here the pid stays ours (``process_scan.STARTED`` keeps sweeps
        off it), so opening it late is safe. A child whose exit cannot be watched (no
        descriptor left) is killed and reaped at once, and the OSError says so.
        """
        if self._pidfd is None:
            for fd in (self._stdin_fd, self._stdout_fd, self._stderr_fd):
                if fd is not None:  # a fresh pipe end has no other status flag to keep
                    fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)
            try:
                self._pidfd = os.pidfd_open(self._pid)
            except OSError as exc:
                kill_group(self._pid)
                self.returncode = _reap(self._pid)
                process_scan.STARTED.discard(self._pid)
                self.close()
                raise OSError(exc.errno, f"{exc.strerror}: the exit of process {self._pid} "
                                         "could not be watched, so it was stopped") from None
        return self._pidfd

    async def wait(self) -> int:
        """Wait for the exit; kills what is left of the group, then reaps the child.

        Concurrent waiters queue on a lock, as trio's ``Process.wait`` does: the first one
        reaps, the others find the exit status.
        """
        if self._wait_lock is None:
            self._wait_lock = anyio.Lock()
        async with self._wait_lock:
            if self.returncode is None:
                await anyio.wait_readable(self._watched())
                kill_group(self.pid)
                self.returncode = _reap(self.pid)
                process_scan.STARTED.discard(self.pid)
        return self.returncode

    async def pump(self, sink: OutputSink, *, drain: float = 0.5) -> int:
        """Deliver stdout/stderr chunks to ``sink`` until the child has exited; the exit status.

        Pipes still held open by an escaped grandchild are abandoned ``drain`` seconds after
        the exit, so a child's end is never hostage to its descendants. Cancelled before the
        exit, it leaves the pipes open for :meth:`stop`: a child that writes during its grace
        must not die of SIGPIPE instead of ending at its own pace.
        """
        self._watched()
        self._pumping = True
        try:
            async with anyio.create_task_group() as readers:
                readers.start_soon(self._read, self._stdout_fd, 1, sink)
                readers.start_soon(self._read, self._stderr_fd, 2, sink)
                if self._stdin_fd is not None:
                    readers.start_soon(self._feed, self._stdin_fd)
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
        for fd in (self._stdin_fd, self._stdout_fd, self._stderr_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._stdin_fd = None

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

    async def _feed(self, fd: int) -> None:
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
            if self._stdin_fd == fd:
                self._stdin_fd = None
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __del__(self) -> None:
        self.close()
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)


def start_async(
    argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
) -> AsyncChild | ProcessOutcome:
    """Start ``argv`` in a new session for an event loop; a launch failure is an outcome.

    ``stdin`` is fed as the child reads it; without it the child's stdin is ``/dev/null``.
    """
    environ = os.environ if env is None else env
    try:
        program, search = _program(argv[0], environ, cwd)
        args = _strings([arg.encode(_FS_ENCODING, "surrogateescape") if type(arg) is str
                         else os.fsencode(arg) for arg in argv])
        envp = _envp(environ)
    except (ValueError, TypeError) as exc:  # bad env names, NUL bytes, non-str values
        return ProcessOutcome.not_started(f"{argv[0]}: {exc}")
    if program is None:
        return ProcessOutcome.not_started(f"{argv[0]}: {os.strerror(2)}")
    try:
        ours, theirs = _pipes(bool(stdin))
    except OSError as exc:  # out of descriptors
        return ProcessOutcome.not_started(f"{argv[0]}: {exc.strerror}")
    try:
        pid = _spawn(program, args, envp, cwd=cwd, stdio=theirs, search=search)
    except OSError as exc:
        _close(ours)
        return ProcessOutcome.not_started(f"{argv[0]}: {exc.strerror}")
    finally:
        _close(theirs)
    process_scan.STARTED.add(pid)
    return AsyncChild(pid, ours, stdin)


class Environment(Mapping[str, str]):
    """A child's environment whose ``NAME=value`` entries are encoded once, for many children.

    A coordinator starting a burst makes one of what every worker shares, then :meth:`plus`
    for each worker's own values, so a spawn encodes and copies in only those. A bad name or
    value raises ValueError or TypeError on the way in.
    """

    __slots__ = ("_own", "_shared", "_values")

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._shared = _strings([_entry(n, v) for n, v in self._values.items()])
        self._own: list[bytes] = []

    def plus(self, values: Mapping[str, str]) -> Environment:
        """This environment with ``values`` added, or in place of ours of the same name."""
        if not self._values.keys().isdisjoint(values):
            return Environment({**self._values, **values})
        own = [_entry(n, v) for n, v in values.items()]
        if b"\0" in b"".join(own):
            raise ValueError("embedded null byte")
        more = object.__new__(Environment)
        more._values = {**self._values, **values}
        more._shared = self._shared
        more._own = [*self._own, *own]
        return more

    def envp(self) -> ctypes.Array[ctypes.c_char_p]:
        """The ``char *envp[]`` exec takes; valid while this environment lives."""
        if not self._own:
            return self._shared
        shared = len(self._shared) - 1  # without its NULL
        array = (ctypes.c_char_p * (shared + len(self._own) + 1))()
        ctypes.memmove(array, self._shared, shared * ctypes.sizeof(ctypes.c_char_p))
        for at, entry in enumerate(self._own, shared):
            array[at] = entry
        return array

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _envp(environ: Mapping[str, str]) -> ctypes.Array[ctypes.c_char_p]:
    """``NAME=value`` entries, encoded as ``os.fsencode`` would, as exec takes them."""
    if isinstance(environ, Environment):
        return environ.envp()
    return _strings([_entry(name, value) for name, value in environ.items()])


def _entry(name: str, value: str) -> bytes:
    if type(name) is not str or type(value) is not str:
        name, value = os.fsdecode(name), os.fsdecode(value)  # bytes pass, others TypeError
    if not name or "=" in name:
        raise ValueError("illegal environment variable name")
    return f"{name}={value}".encode(_FS_ENCODING, "surrogateescape")


def _strings(items: list[bytes]) -> ctypes.Array[ctypes.c_char_p]:
    """A NULL-terminated ``char *[]`` (what exec takes); a NUL byte inside is a ValueError."""
    if b"\0" in b"".join(items):
        raise ValueError("embedded null byte")
    return (ctypes.c_char_p * (len(items) + 1))(*items, None)


def _program(name: str, environ: Mapping[str, str],
             cwd: str | None) -> tuple[bytes | None, bool]:
    """(what exec should run for ``name``, whether the child searches our ``PATH`` for it).

    A name without a ``/`` is searched in the child's ``PATH``: by ``posix_spawnp`` itself
    when that is our own ``PATH`` (glibc searches the caller's), else here.
    """
    if "\0" in name:
        raise ValueError("embedded null byte")
    if "/" in name:
        return os.fsencode(name), False
    if environ.get("PATH") == os.environ.get("PATH"):
        return os.fsencode(name), True
    denied = None  # as execvp: a file found but not executable is "Permission denied"
    for folder in os.get_exec_path(environ):
        candidate = os.path.join(cwd or "", folder, name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return os.fsencode(candidate), False
            denied = denied or os.fsencode(candidate)
    return denied, False


def _pipes(with_stdin: bool) -> tuple[tuple[int | None, int, int], tuple[int | None, int, int]]:
    """(our ends, the child's ends) of its stdin (or None: /dev/null), stdout and stderr pipes."""
    made: list[tuple[int, int]] = []
    try:
        for _ in range(3 if with_stdin else 2):
            made.append(_pipe())
    except OSError:
        _close([fd for pair in made for fd in pair])
        raise
    stdin = made.pop(0) if with_stdin else (None, None)
    (out_read, out_write), (err_read, err_write) = made
    return (stdin[1], out_read, err_read), (stdin[0], out_write, err_write)


def _close(fds: Sequence[int | None]) -> None:
    for fd in fds:
        if fd is not None:
            os.close(fd)


def _pipe() -> tuple[int, int]:
    """A close-on-exec pipe whose ends stay clear of 0-2, which the child's dup2s overwrite."""
    read, write = os.pipe2(os.O_CLOEXEC)
    if read > 2 and write > 2:
        return read, write
    return _above_stdio(read), _above_stdio(write)


def _above_stdio(fd: int) -> int:
    if fd > 2:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return moved


def _spawn(program: bytes, args: ctypes.Array[ctypes.c_char_p],
           envp: ctypes.Array[ctypes.c_char_p], *, cwd: str | None,
           stdio: tuple[int | None, int, int], search: bool) -> int:
    actions = ctypes.create_string_buffer(_OPAQUE)
    _libc.posix_spawn_file_actions_init(actions)
    try:
        _file_actions(actions, cwd, stdio)
        pid = ctypes.c_int()
        spawn = _libc.posix_spawnp if search else _libc.posix_spawn
        err = spawn(ctypes.byref(pid), program, actions, _attributes(), args, envp)
        if err:
            raise OSError(err, os.strerror(err))
        return pid.value
    finally:
        _libc.posix_spawn_file_actions_destroy(actions)


def _file_actions(actions: ctypes.Array[ctypes.c_char], cwd: str | None,
                  stdio: tuple[int | None, int, int]) -> None:
    stdin, stdout, stderr = stdio
    if stdin is None:
        _libc.posix_spawn_file_actions_addopen(actions, 0, b"/dev/null", os.O_RDONLY, 0)
    else:
        _libc.posix_spawn_file_actions_adddup2(actions, stdin, 0)
    _libc.posix_spawn_file_actions_adddup2(actions, stdout, 1)
    _libc.posix_spawn_file_actions_adddup2(actions, stderr, 2)
    if _closefrom is not None:  # descriptors we inherited without close-on-exec
        _closefrom(actions, 3)
    if cwd is not None:
        _libc.posix_spawn_file_actions_addchdir_np(actions, os.fsencode(cwd))


@functools.cache
def _attributes() -> ctypes.Array[ctypes.c_char]:
    """The spawn attributes every child gets, made once: ``posix_spawn`` only reads them."""
    attrs = ctypes.create_string_buffer(_OPAQUE)
    _libc.posix_spawnattr_init(attrs)
    defaults = ctypes.create_string_buffer(_OPAQUE)
    _libc.sigemptyset(defaults)
    for sig in _RESTORED:
        _libc.sigaddset(defaults, sig)
    _libc.posix_spawnattr_setsigdefault(attrs, defaults)
    _libc.posix_spawnattr_setflags(attrs, ctypes.c_short(_SETSID | _SETSIGDEF))
    return attrs


def _reap(pid: int) -> int:
    """The exit status as ``Popen.returncode`` gives it (minus the signal if killed by one)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 0  # reaped elsewhere: as Popen.wait answers then
    return os.waitstatus_to_exitcode(status)
