"""Supervised model servers (``[[servers]]``): started when a task needs one, restarted on death.

A server runs in its own session through the one process choke point; its output goes to
``.swarm/servers/NAME.log`` and its pid to ``NAME.pid``. It is ready when ``GET ready``
answers 200. When it dies it is restarted after a backoff that doubles with each death in a
row (reset once it has served a while), up to ``max_restarts``; the tasks it had in flight are
retried by their workers. Everything stops when the coordinator's ``serving`` block ends.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from hookswarm.lib import process, process_async

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Mapping

    from hookswarm.lib.swarm.endpoints import ServerSettings

_STABLE = 30.0  # seconds up after which a death no longer counts as "in a row"
_READY_POLL = 0.1
_STOP_GRACE = 5.0


class ServerFailed(Exception):
    """A server could not be started; ``final`` when swarm has given up on it."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def backoff(deaths: int, first: float, cap: float) -> float:
    """Seconds to wait before restart number ``deaths`` (1, 2, ...): doubling, capped."""
    return float(min(cap, first * 2.0 ** max(0, deaths - 1)))


def fill(text: str, port: int) -> str:
    return text.replace("{port}", str(port))


class Server:
    """One configured server and its live state."""

    def __init__(self, settings: ServerSettings, log_dir: Path, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.port = settings.port or free_port()
        self.url = fill(settings.url, self.port).rstrip("/")
        self.starts = 0
        self.deaths = 0
        self.gave_up = ""
        self.pid: int | None = None
        self._log_dir = log_dir
        self._environ = dict(environ)
        self._wanted: Any = None
        self._ready: Any = None
        self._client: Any = None

    async def ensure(self) -> str:
        """The server's URL once it answers its readiness probe; starts it if needed."""
        if self.gave_up:
            raise ServerFailed(self.gave_up, final=True)
        self._events()
        self._wanted.set()
        while True:
            ready = self._ready
            await ready.wait()
            if self.gave_up:
                raise ServerFailed(self.gave_up, final=True)
            if ready is self._ready:  # not a life that has ended since
                return self.url

    async def supervise(self, client: Any) -> None:
        """Start the server when wanted, and restart it with backoff when it dies."""
        self._client = client
        self._events()
        await self._wanted.wait()
        while not self.gave_up:
            up_since = time.monotonic()
            reason = await self._run_once()
            ended, self._ready = self._ready, anyio.Event()
            ended.set()  # wakes the waiters of the life that ended; they wait for the next
            self.deaths = 1 if time.monotonic() - up_since > _STABLE else self.deaths + 1
            if self.deaths > self.settings.max_restarts:
                self.gave_up = (f"server '{self.settings.name}' {reason}; gave up after "
                                f"{self.settings.max_restarts} restart(s) (see "
                                f"{self._path('log')})")
                self._ready.set()
                return
            await anyio.sleep(backoff(self.deaths, *self.settings.backoff))

    async def _run_once(self) -> str:
        """One life of the server: start, wait for readiness, pump its output until it exits."""
        child = process_async.start_async(self._argv(), cwd=self.settings.cwd or None,
                                    env={**self._environ, **self.settings.env})
        self.starts += 1
        if isinstance(child, process.ProcessOutcome):
            return f"could not start: {child.launch_error}"
        self.pid = child.pid
        self._path("pid").write_text(f"{child.pid}\n")
        log = os.open(self._path("log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(log, f"--- swarm: start #{self.starts}, pid {child.pid}\n".encode())
            async with anyio.create_task_group() as group:
                group.start_soon(self._await_ready, child)
                try:
                    code = await child.pump(lambda _stream, chunk: _append(log, chunk))
                finally:
                    with anyio.CancelScope(shield=True):
                        await child.stop(grace=_STOP_GRACE)
                group.cancel_scope.cancel()
            os.write(log, f"--- swarm: exited ({_exit(code)})\n".encode())
        finally:
            os.close(log)
        return f"exited ({_exit(code)})"

    async def _await_ready(self, child: process_async.AsyncChild) -> None:
        deadline = time.monotonic() + self.settings.ready_timeout
        while not await self._answers():
            if time.monotonic() > deadline:
                await child.stop(grace=_STOP_GRACE)  # counts as a death: restarted or given up
                return
            await anyio.sleep(_READY_POLL)
        self._ready.set()

    async def _answers(self) -> bool:
        try:
            response = await self._client.get(self._origin() + self.settings.ready, timeout=2.0)
        except Exception:  # not listening yet, or half up
            return False
        return bool(response.status_code == 200)

    def _origin(self) -> str:
        """Where the readiness path starts: the server's root, whatever path its URL has."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def _argv(self) -> list[str]:
        return [fill(part, self.port) for part in self.settings.command]

    def _path(self, suffix: str) -> Path:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return self._log_dir / f"{self.settings.name}.{suffix}"

    def _events(self) -> None:
        if self._wanted is None:
            self._wanted, self._ready = anyio.Event(), anyio.Event()


def _append(fd: int, chunk: bytes) -> None:
    os.write(fd, chunk)


def _exit(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"status {code}"


class ServerSet:
    """The configured servers by name; ``serving`` supervises the ones a task asked for."""

    def __init__(self, settings: Iterable[ServerSettings], *,
                 environ: Mapping[str, str] | None = None) -> None:
        self._settings = {s.name: s for s in settings}
        self._environ = dict(os.environ if environ is None else environ)
        self.servers: dict[str, Server] = {}
        self.log_dir = Path(".swarm/servers")
        self.marker: dict[str, str] = {}

    def get(self, name: str) -> Server:
        if name not in self.servers:
            self.servers[name] = Server(self._settings[name], self.log_dir,
                                        {**self._environ, **self.marker})
        return self.servers[name]

    def names(self) -> list[str]:
        return sorted(self._settings)


@contextlib.asynccontextmanager
async def serving(backends: Iterable[Any], root: Path, *,
                  marker: Mapping[str, str] | None = None) -> AsyncIterator[None]:
    """Supervise the backends' servers and hold their HTTP clients while the block runs.

    ``marker`` goes into the servers' environment: the coordinator's owner mark, by which the
    next coordinator finds and kills them if this one dies without stopping them.
    """
    opened = [b for b in backends if hasattr(b, "open")]
    sets = {id(b.servers): b.servers for b in opened}
    for servers in sets.values():
        servers.log_dir = root / "servers"
        servers.marker = dict(marker or {})
    async with contextlib.AsyncExitStack() as stack:
        for backend in opened:
            await stack.enter_async_context(backend.open(root))
        async with anyio.create_task_group() as group:
            for servers in sets.values():
                names = servers.names()
                client = next(b for b in opened if b.servers is servers).client if names else None
                for name in names:
                    group.start_soon(servers.get(name).supervise, client)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
