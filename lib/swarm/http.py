"""The ``ollama`` and ``openai`` backends: HTTP workers that stream a local model's tokens.

A worker has no process: it takes a slot on an endpoint of its pool, streams the answer into
the same ``on_output`` chunk stream a process worker's output goes to (so heartbeats, the
progressive timeout, the log and the evidence work unchanged), and ends with a
:class:`WorkerEnd`. An endpoint that fails mid-answer (refused connection, a dropped stream,
HTTP 5xx) is paused by the pool's breaker and the request is retried on another endpoint, or
on the same one once its supervised server is back. In the ``files`` output mode the answer's
fenced blocks are written inside ``owns`` (``wrapper.py``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from hookswarm.lib.swarm.backend import Health, Launch, OnOutput, WorkerEnd
from hookswarm.lib.swarm.chat import (
    Answer,
    EndpointFailed,
    Refused,
    inventory,
    stream_answer,
    url_for,
)
from hookswarm.lib.swarm.context import compose
from hookswarm.lib.swarm.endpoints import (
    OLLAMA_DEFAULT_URL,
    EndpointSettings,
    PoolSettings,
)
from hookswarm.lib.swarm.pool import EndpointState, Lease, NoEndpoint, Pool
from hookswarm.lib.swarm.servers import ServerSet
from hookswarm.lib.swarm.sweetspot import recall, settle
from hookswarm.lib.swarm.wire import WIRES, Inventory, error_text
from hookswarm.lib.swarm.wrapper import write_answer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from pathlib import Path

    from hookswarm.lib.swarm.config import SwarmConfig
    from hookswarm.lib.swarm.task import Task

CONNECT_TIMEOUT = 5.0
@dataclass(slots=True)
class _PoolEntry:
    pool: Pool
    settings: PoolSettings


class HttpBackend:
    """One wire format (``ollama`` or ``openai``) over the pools that serve it."""

    def __init__(self, name: str, config: SwarmConfig, servers: ServerSet) -> None:
        self.name = name
        self.wire = WIRES[name]
        self.servers = servers
        self._config = config
        self._pools: dict[str, _PoolEntry] = {}
        self._client: Any = None
        self._open = False
        self._capacity: int | None = None
        self.root: Path | None = None

    # ------------------------------------------------------------ the Backend protocol

    def health_key(self, task: Task) -> str:
        """Per pool; a task naming no usable pool gets a key ending in "?" (it fails at once)."""
        name = self.pool_name(task)
        return f"{self.name}:{name}" + ("" if self.pool_settings(name) else "?")

    async def probe(self, task: Task, *, timeout: float) -> Health:
        """Healthy when some endpoint of the task's pool is up (or is a server swarm starts).

        Whether it has the task's model is the task's problem, not the pool's: the worker
        fails that task at once, naming the models the endpoints have.
        """
        name = self.pool_name(task)
        settings = self.pool_settings(name) if name else None
        if settings is None:
            return Health(False, self.no_pool(task))
        details = []
        async with self._session() as client:
            for endpoint in settings.endpoints:
                if endpoint.server:
                    return Health(True, f"server '{endpoint.server}' starts when a task needs it")
                found = await inventory(client, self.wire, endpoint.url, timeout=timeout)
                if found.ok:
                    return Health(True, found.detail)
                details.append(found.detail)
        return Health(False, "; ".join(details))

    def start(self, launch: Launch) -> HttpWorker | WorkerEnd:
        task = launch.task
        name = self.pool_name(task)
        settings = self.pool_settings(name) if name else None
        if settings is None:
            return WorkerEnd.launch_failed(self.no_pool(task))
        if not self._open:
            return WorkerEnd.launch_failed("the HTTP client is not open (run the coordinator "
                                           "inside servers.serving)")
        prompt = compose(task.prompt, task.context, context_file=None)
        return HttpWorker(self, self._pool(name, settings), settings, task, prompt)

    # ------------------------------------------------------------ pools

    def pool_name(self, task: Task) -> str:
        if task.pool or task.endpoint:
            return task.pool or task.endpoint
        if self.name in self._config.pools:
            return self.name
        return OLLAMA_DEFAULT_URL if self.name == "ollama" else ""

    def pool_settings(self, name: str) -> PoolSettings | None:
        if name in self._config.pools:
            settings = self._config.pools[name]
            return settings if settings.backend == self.name else None
        if name.startswith(("http://", "https://")):
            return PoolSettings.model_validate({"backend": self.name,
                                                "endpoints": [{"url": name}]})
        return None

    def capacity(self) -> int:
        """Requests this backend's pools can serve at once (what admission lets through)."""
        if self._capacity is None:
            self._capacity = self._count_capacity()
        return self._capacity

    def _count_capacity(self) -> int:
        total = 0
        for name, settings in self._config.pools.items():
            if settings.backend == self.name:
                entry = self._pools.get(name)
                states = entry.pool.states if entry else [None] * len(settings.endpoints)
                total += sum(_limit(endpoint, state, settings)
                             for endpoint, state in zip(settings.endpoints, states, strict=True))
        return total or 1 << 30  # ad-hoc endpoints: only the coordinator's caps apply

    def no_pool(self, task: Task) -> str:
        if task.pool and task.pool in self._config.pools:
            return (f"pool '{task.pool}' serves the {self._config.pools[task.pool].backend} "
                    f"backend, not {self.name}")
        if task.pool:
            known = ", ".join(sorted(self._config.pools)) or "none"
            return f"no pool named '{task.pool}' in .swarm/config.toml (configured: {known})"
        return (f"an {self.name} task needs 'endpoint' (a URL) or 'pool'; or configure "
                f"[pools.{self.name}] in .swarm/config.toml")

    def _pool(self, name: str, settings: PoolSettings) -> Pool:
        if name not in self._pools:
            states = [EndpointState(_label(e), None if e.concurrency == "auto" else e.concurrency)
                      for e in settings.endpoints]
            pool = Pool(states, probe=lambda i: self._probe_endpoint(settings, i),
                        has_model=self.wire.has_model, pause=settings.pause)
            self._pools[name] = _PoolEntry(pool, settings)
            self._capacity = None
        return self._pools[name].pool

    def base_url(self, settings: PoolSettings, index: int) -> str:
        endpoint = settings.endpoints[index]
        return self.servers.get(endpoint.server).url if endpoint.server else endpoint.url

    async def _probe_endpoint(self, settings: PoolSettings, index: int) -> Inventory:
        endpoint = settings.endpoints[index]
        if endpoint.server:
            await self.servers.get(endpoint.server).ensure()  # ServerFailed: the pool judges
        return await inventory(self.client, self.wire, self.base_url(settings, index),
                               timeout=self._config.health.probe_timeout)

    async def prepare(self, pool: Pool, settings: PoolSettings, index: int, model: str) -> None:
        """Before the first task on an endpoint: load the model and settle the concurrency."""
        state = pool.states[index]
        base = self.base_url(settings, index)
        if settings.warm_up and model not in state.warm:
            path, body = self.wire.warm(model, keep_alive=settings.keep_alive)
            response = await self.client.post(url_for(self.wire, base, path), json=body)
            if response.status_code >= 400:
                raise EndpointFailed(error_text(response.status_code, response.content))
            state.warm.add(model)
        if state.limit is None:
            limit, why = await settle(self, settings, base, model, root=self.root)
            pool.set_limit(index, limit, why)
            self._capacity = None

    # ------------------------------------------------------------ the client

    @property
    def client(self) -> Any:
        """One HTTP client (and connection pool) per run, made when first needed."""
        if self._client is None:
            self._client = _new_client()
        return self._client

    @contextlib.asynccontextmanager
    async def open(self, root: Path) -> AsyncIterator[None]:
        """Serve tasks while the block runs; the client, if one was made, closes after it."""
        self.root, self._open = root, True
        try:
            yield
        finally:
            self._open = False
            self._pools.clear()
            self._capacity = None
            client, self._client = self._client, None
            if client is not None:
                await client.aclose()

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[Any]:
        if self._open:
            yield self.client
            return
        async with _new_client() as client:
            yield client


def _new_client() -> Any:
    timeout = httpx.Timeout(connect=CONNECT_TIMEOUT, read=None, write=30.0, pool=None)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)


def _label(endpoint: EndpointSettings) -> str:
    return f"server:{endpoint.server}" if endpoint.server else endpoint.url


def _limit(endpoint: EndpointSettings, state: EndpointState | None,
           settings: PoolSettings) -> int:
    if state is not None and state.limit is not None:
        return state.limit
    return settings.auto.max if endpoint.concurrency == "auto" else int(endpoint.concurrency)


class HttpWorker:
    """One task's request(s) to its pool; no process, so ``pid`` is None."""

    pid: int | None = None

    def __init__(self, backend: HttpBackend, pool: Pool, settings: PoolSettings, task: Task,
                 prompt: str) -> None:
        self._backend = backend
        self._pool = pool
        self._settings = settings
        self._task = task
        self._prompt = prompt
        self._scope: Any = None
        self._failures: list[str] = []

    async def run(self, on_output: OnOutput) -> WorkerEnd:
        with anyio.CancelScope() as scope:
            self._scope = scope
            return await self._attempts(on_output)
        return WorkerEnd(clean=False, reason="stopped", model=self._task.model,
                         details=self._details(None, None))

    async def stop(self, *, grace: float) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def _attempts(self, on_output: OnOutput) -> WorkerEnd:
        task, backend = self._task, self._backend
        for _ in range(self._settings.retries + 1):
            try:
                lease = await self._pool.acquire(
                    task.model, url_of=lambda i: backend.base_url(self._settings, i),
                    prepare=lambda i, m: backend.prepare(self._pool, self._settings, i, m))
            except NoEndpoint as exc:
                return self._end(False, f"no endpoint can serve model '{task.model}': {exc}")
            try:
                answer = await self._ask(lease, on_output)
            except EndpointFailed as exc:
                self._pool.release(lease, model=task.model, failure=str(exc))
                self._failures.append(f"{lease.name}: {exc}")
                on_output(f"\n[swarm: {lease.name} failed ({exc}); retrying]\n".encode())
                continue
            except Refused as exc:
                self._pool.release(lease, model=task.model)
                return self._end(False, f"{lease.name} refused the request: {exc}", lease)
            except BaseException:
                self._pool.release(lease, model=task.model)
                raise
            self._pool.release(lease, model=task.model)
            return self._finish(answer, lease)
        return self._end(False, f"every endpoint attempt failed: {'; '.join(self._failures)}",
                         unreachable=True)

    async def _ask(self, lease: Lease, on_output: OnOutput) -> Answer:
        wire = self._backend.wire
        path, body = wire.chat(self._task, self._prompt, keep_alive=self._settings.keep_alive)
        return await stream_answer(self._backend.client, wire, url_for(wire, lease.url, path),
                                   body, on_output)

    def _finish(self, answer: Answer, lease: Lease) -> WorkerEnd:
        details = self._details(answer, lease)
        if self._task.output != "files":
            return WorkerEnd(clean=True, reason="", model=self._task.model, details=details)
        written = write_answer(answer.text, cwd=self._task.cwd, owns=self._task.write_globs)
        details = {**details, **written.as_details()}
        # Without expects, an answer that wrote nothing has nothing for the evidence to judge.
        clean = written.clean and bool(written.written or self._task.expects)
        return WorkerEnd(clean=clean, reason=written.reason, model=self._task.model,
                         details=details)

    def _end(self, clean: bool, reason: str, lease: Lease | None = None, *,
             unreachable: bool = False) -> WorkerEnd:
        return WorkerEnd(clean=clean, reason=reason, model=self._task.model,
                         unreachable=unreachable, details=self._details(None, lease))

    def _details(self, answer: Answer | None, lease: Lease | None) -> dict[str, Any]:
        details: dict[str, Any] = {"endpoint": lease.name if lease else None,
                                   "retried_after": list(self._failures)}
        if answer is not None and lease is not None:
            details.update(warm=lease.warm, ttft_s=_round(answer.ttft_s),
                           answer_s=_round(answer.seconds), chunks=answer.chunks,
                           stats=dict(answer.stats))
        return details


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def http_backends(config: SwarmConfig, *,
                  environ: Mapping[str, str] | None = None) -> dict[str, HttpBackend]:
    """The two HTTP backends, sharing one set of supervised servers."""
    servers = ServerSet(config.servers, environ=environ)
    return {name: HttpBackend(name, config, servers) for name in ("ollama", "openai")}


async def pool_health(backend: HttpBackend, pool: str, *, timeout: float) -> dict[str, Any]:
    """``swarm health`` for one pool: each endpoint up or not, its models, its concurrency."""
    settings = backend.pool_settings(pool)
    assert settings is not None
    memory = recall(backend.root)
    endpoints = []
    async with backend._session() as client:
        for endpoint in settings.endpoints:
            if endpoint.server and endpoint.server not in backend.servers.servers:
                endpoints.append({"endpoint": _label(endpoint), "ok": True, "detail":
                                  "started by swarm when a task needs it", "loaded": []})
                continue
            base = backend.base_url(settings, settings.endpoints.index(endpoint))
            found = await inventory(client, backend.wire, base, timeout=timeout)
            endpoints.append({"endpoint": _label(endpoint), "ok": found.ok,
                              "detail": found.detail, "loaded": sorted(found.loaded),
                              **_concurrency(backend.name, base, endpoint, memory)})
    return {"ok": any(e["ok"] for e in endpoints), "backend": backend.name,
            "endpoints": endpoints,
            "detail": "; ".join(f"{e['endpoint']}: {e['detail']}" for e in endpoints)}


def _concurrency(backend: str, base: str, endpoint: EndpointSettings,
                 memory: Mapping[str, Any]) -> dict[str, Any]:
    if endpoint.concurrency != "auto":
        return {"concurrency": endpoint.concurrency, "why": "configured"}
    chosen = {k.rsplit(" ", 1)[1]: v for k, v in memory.items()
              if k.startswith(f"{backend} {base} ")}
    if not chosen:
        return {"concurrency": "auto", "why": "measured before the first batch"}
    return {"concurrency": {m: v["concurrency"] for m, v in chosen.items()},
            "why": {m: v["why"] for m, v in chosen.items()}}
