"""Backend health: probes cached per key with a TTL, run concurrently, behind a circuit breaker.

A key's first probe gates its tasks. A healthy key stays usable while a stale answer is
refreshed; a failing key is open (its tasks wait or fail) until a later probe succeeds. A
worker that ends because its endpoint was unreachable opens the breaker without a probe.
Each key is probed at most once per TTL, and never twice at the same time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio

from hookswarm.lib import process, process_async
from hookswarm.lib.swarm.backend import Health

Probe = Callable[[], Awaitable[Health]]


@dataclass(slots=True)
class _Entry:
    health: Health | None = None
    checked_at: float = 0.0
    failing_since: float | None = None
    probes: int = 0
    inflight: Any = None
    history: list[float] = field(default_factory=list)


class HealthBoard:
    """Health answers per key; ``clock`` is injectable for tests."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def known(self, key: str) -> Health | None:
        """The last answer for ``key``, fresh or not."""
        return self._entry(key).health

    def stale(self, key: str) -> bool:
        entry = self._entry(key)
        return entry.health is None or self._clock() - entry.checked_at >= self.ttl

    def probing(self, key: str) -> bool:
        return self._entry(key).inflight is not None

    def failing_for(self, key: str) -> float:
        """Seconds the key has been failing (0 when healthy or unknown)."""
        since = self._entry(key).failing_since
        return 0.0 if since is None else self._clock() - since

    def probes(self, key: str) -> list[float]:
        """When each probe of ``key`` started (clock readings)."""
        return list(self._entry(key).history)

    async def check(self, key: str, probe: Probe) -> Health:
        """The cached answer while fresh; otherwise one probe, shared by concurrent callers."""
        entry = self._entry(key)
        if entry.inflight is not None:
            await entry.inflight.wait()
        if not self.stale(key) and entry.health is not None:
            return entry.health
        return await self._probe(entry, probe)

    def report(self, key: str, health: Health) -> None:
        """Record an answer learned without a probe (a worker that could not reach its API)."""
        self._store(self._entry(key), health)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {key: {"ok": e.health.ok if e.health else None,
                      "detail": e.health.detail if e.health else "not probed yet",
                      "probes": e.probes}
                for key, e in sorted(self._entries.items())}

    async def _probe(self, entry: _Entry, probe: Probe) -> Health:
        entry.inflight = anyio.Event()
        entry.probes += 1
        entry.history.append(self._clock())
        try:
            health = await probe()
        except Exception as exc:  # a crashing probe is a failing backend, not a crashed swarm
            health = Health(False, f"health probe crashed: {exc!r}")
        finally:
            done, entry.inflight = entry.inflight, None
            done.set()
        self._store(entry, health)
        return health

    def _store(self, entry: _Entry, health: Health) -> None:
        now = self._clock()
        entry.health, entry.checked_at = health, now
        if health.ok:
            entry.failing_since = None
        elif entry.failing_since is None:
            entry.failing_since = now

    def _entry(self, key: str) -> _Entry:
        return self._entries.setdefault(key, _Entry())


async def http_reachable(url: str, *, timeout: float) -> Health:
    """Whether an HTTP(S) endpoint answers ``HEAD`` within ``timeout`` seconds (status < 500)."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if tls else 80)
    try:
        with anyio.fail_after(timeout):
            status = await _head_status(host, port, parts.path or "/", tls=tls)
    except TimeoutError:
        return Health(False, f"API {url} did not answer within {timeout:g}s")
    except OSError as exc:
        return Health(False, f"API {url} unreachable: {exc.strerror or exc}")
    if status >= 500 or status == 0:
        return Health(False, f"API {url} answered HTTP {status or 'garbage'}")
    return Health(True, f"API {url} answers (HTTP {status})")


async def _head_status(host: str, port: int, path: str, *, tls: bool) -> int:
    stream: anyio.abc.ByteStream
    if tls:
        stream = await anyio.connect_tcp(host, port, tls=True, tls_standard_compatible=False)
    else:
        stream = await anyio.connect_tcp(host, port)
    async with stream:
        request = f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        await stream.send(request.encode())
        head = b""
        while b"\r\n" not in head and len(head) < 4096:
            try:
                head += await stream.receive()
            except anyio.EndOfStream:
                break
    fields = head.split(b"\r\n", 1)[0].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0


async def command_runs(argv: list[str], *, timeout: float) -> Health:
    """Whether ``argv`` (e.g. ``claude --version``) runs and exits 0 within ``timeout``."""
    child = process_async.start_async(argv)
    if isinstance(child, process.ProcessOutcome):
        return Health(False, f"{argv[0]} is not installed (cannot run it: "
                             f"{child.launch_error}); install Claude Code, or set "
                             "HOOKSWARM_CLAUDE_BIN or [claude] bin in .swarm/config.toml",
                      missing=True)
    output = bytearray()
    with anyio.move_on_after(timeout):
        code = await child.pump(lambda _stream, chunk: output.extend(chunk[:4096]))
        text = output.decode(errors="replace").strip().splitlines()[:1] or [""]
        if code == 0:
            return Health(True, f"{argv[0]} {text[0]}".strip())
        return Health(False, f"{' '.join(argv)} exited with status {code}: {text[0]}")
    with anyio.CancelScope(shield=True):
        await child.stop(grace=0.2)
    return Health(False, f"{' '.join(argv)} did not finish within {timeout:g}s")
