"""The warm zygote: runs under the hook's own interpreter and forks one child per hook.

``lib/process.py`` starts it as ``<interpreter> -c <this source> SOCKET PRELOAD_JSON``, the
same interpreter, flags and site set-up as ``<interpreter> script.py``. Standard library only,
and importable by nothing: it runs under interpreters that do not have hookswarm.

Protocol, one connection per hook: a JSON request line with three descriptors (the hook's
stdin, stdout, stderr) attached; back come the hook's pid and then its exit code (negative:
the signal that ended it), one line each.
"""

from __future__ import annotations

import sys

_AT_START = frozenset(sys.modules)  # what every fresh interpreter has imported by now

import array  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
import types  # noqa: E402
from typing import Any  # noqa: E402

_MAX_FDS = 3


def main() -> None:
    path, preload = sys.argv[1], json.loads(sys.argv[2])
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    preloaded = _preload(preload)
    os.write(1, b"ready\n")
    while True:
        readable, _, _ = select.select([server.fileno(), 0], [], [])
        if 0 in readable and not os.read(0, 1):
            os._exit(0)  # the server that started us is gone
        if server.fileno() in readable:
            _accept(server, preloaded)
        _reap()


def _preload(names: list[str]) -> list[str]:
    loaded = []
    for name in names:
        try:
            __import__(name)
            loaded.append(name)
        except BaseException:
            continue
    return loaded


def _accept(server: socket.socket, preloaded: list[str]) -> None:
    conn, _ = server.accept()
    request, fds = _receive(conn)
    if os.fork() == 0:
        server.close()
        _wait_for_hook(conn, request, fds, preloaded)
    conn.close()
    for fd in fds:
        os.close(fd)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    fds = array.array("i")
    chunks: list[bytes] = []
    while not chunks or not chunks[-1].endswith(b"\n"):
        data, ancillary, _, _ = conn.recvmsg(1 << 20, socket.CMSG_LEN(_MAX_FDS * fds.itemsize))
        if not data:
            break
        chunks.append(data)
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return json.loads(b"".join(chunks)), list(fds)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wait_for_hook(conn: socket.socket, request: dict[str, Any], fds: list[int],
                   preloaded: list[str]) -> None:
    child = os.fork()
    if child == 0:
        conn.close()
        _run_hook(request, fds, preloaded)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{child}\n".encode())
    _, status = os.waitpid(child, 0)
    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)


def _run_hook(request: dict[str, Any], fds: list[int], preloaded: list[str]) -> None:
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _fresh_streams()
    sys.argv = list(request["argv"])
    sys.path[0] = request["path0"]
    _forget_shadowed(request["path0"])
    if "random" in sys.modules:
        sys.modules["random"].seed()  # a fresh interpreter seeds from the OS, not the zygote
    os._exit(_finish(_run_main(request)))


def _fresh_streams() -> None:
    """stdin, stdout and stderr built as interpreter start-up builds them, on fds 0, 1, 2."""
    for fd, name, mode, like in ((0, "<stdin>", "r", sys.__stdin__),
                                 (1, "<stdout>", "w", sys.__stdout__),
                                 (2, "<stderr>", "w", sys.__stderr__)):
        assert like is not None
        raw = io.FileIO(fd, mode, closefd=False)
        raw.name = name
        buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(buffered, encoding=like.encoding, errors=like.errors,
                                  newline="\n", line_buffering=like.line_buffering,
                                  write_through=like.write_through)
        setattr(sys, name.strip("<>"), stream)
        setattr(sys, f"__{name.strip('<>')}__", stream)


def _forget_shadowed(path0: str) -> None:
    """A module the zygote imported that the hook's own directory would shadow is imported
    anew, from there, as a fresh start would."""
    for name in [m for m in sys.modules if m not in _AT_START and "." not in m]:
        if os.path.exists(os.path.join(path0, name + ".py")) or os.path.isdir(
                os.path.join(path0, name)):
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[loaded]


def _run_main(request: dict[str, Any]) -> int:
    try:
        if request.get("module"):
            import runpy  # late: a fresh interpreter has not loaded it before __main__ runs

            sys.modules["__main__"] = _fresh_main()
            runpy._run_module_as_main(request["module"], alter_argv=True)  # type: ignore[attr-defined]
        else:
            _run_script(request["script"])
    except SystemExit as exc:
        return _exit_code(exc.code)
    except BaseException as exc:
        exc.__traceback__ = _hook_frames(exc.__traceback__)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return 1
    return 0


def _run_script(script: str) -> None:
    from importlib.machinery import SourceFileLoader  # late, as a fresh start has it

    script = os.path.join(os.getcwd(), script)  # as start-up makes it: joined, not normalised
    main = _fresh_main()
    main.__dict__.update(__file__=script, __cached__=None,
                         __loader__=SourceFileLoader("__main__", script))
    sys.modules["__main__"] = main
    with io.open_code(script) as handle:
        code = compile(handle.read(), script, "exec", dont_inherit=True)
    exec(code, main.__dict__)


def _fresh_main() -> types.ModuleType:
    import builtins  # late: the zygote's own namespace stays as a fresh start's

    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    return main


def _hook_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback without the zygote's own frames, as a fresh start would print it."""
    while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
        tb = tb.tb_next
    return tb


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(BaseException):
        sys.stderr.write(f"{code}\n")
    return 1


def _finish(code: int) -> int:
    """What interpreter shutdown does: join threads, run atexit handlers, flush stdio."""
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    import atexit  # late: only a hook's exit needs it

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BaseException as exc:
        sys.stderr.write(f"Exception ignored on flushing sys.stdout:\n{exc!r}\n")
        code = 120
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    return code


if __name__ == "__main__":
    main()
