"""What ``swarm status`` and ``swarm health`` report, as plain data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.http import pool_health
from hookswarm.lib.swarm.metrics import parallel_efficiency
from hookswarm.lib.swarm.registry import backends as all_backends
from hookswarm.lib.swarm.result import number
from hookswarm.lib.swarm.store import DamagedFile, Store
from hookswarm.lib.swarm.task import Task

if TYPE_CHECKING:
    from hookswarm.lib.swarm.config import SwarmConfig


def status_report(store: Store, *, max_parallel: int = 1) -> dict[str, Any]:
    """Counts from ``state.json``, running tasks, and the last session's efficiency.

    The cap is the last session's, else ``max_parallel`` (the configured one). Claims whose
    coordinator is gone are listed under ``orphaned`` (the next coordinator requeues them),
    not as running; files that cannot be read are named under ``damaged``.
    """
    state = store.state()
    session = state.get("session") or {}
    since = number(session.get("started_at"), 0.0)
    cap = max(1, int(number(session.get("max_parallel"), max_parallel)))
    by_status: dict[str, int] = {}
    intervals = []
    damaged: list[str] = []
    for result in store.results():
        by_status[result["status"]] = by_status.get(result["status"], 0) + 1
        if "damaged" in result:
            damaged.append(str(result["reason"]))
        started = number(result.get("started_at"), 0.0)
        if started >= since and number(result.get("duration_s"), 0.0) > 0:
            intervals.append((started, number(result.get("ended_at"), started)))
    running, orphaned = _claims(store, damaged)
    return {"active": max(0, state["active"] - len(orphaned)), "queued": state["queued"],
            "finished": state["finished"], "max_parallel": cap,
            "efficiency": parallel_efficiency(intervals, cap=cap), "running": running,
            "orphaned": orphaned, "by_status": by_status, "damaged": damaged}


def finished_tasks(store: Store, *, last: int | None = None) -> list[dict[str, Any]]:
    """Finished tasks, oldest end first: every one, or the ``last`` that ended last."""
    rows = [{key: result.get(key) for key in _FINISHED_KEYS} for result in store.results()]
    rows.sort(key=lambda row: number(row["ended_at"], 0.0))
    return rows if last is None else rows[-last:]


_FINISHED_KEYS = ("id", "status", "ended_at", "duration_s", "reason", "log")


def _claims(store: Store, damaged: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Running claims, and claims whose coordinator is gone (checked once per coordinator)."""
    running: list[dict[str, Any]] = []
    orphaned: list[dict[str, Any]] = []
    live: dict[str, bool] = {}
    for task_id in store.processing():
        try:
            claim = store.claimed(task_id)
        except FileNotFoundError:
            continue
        except (DamagedFile, OSError) as exc:
            damaged.append(str(exc))
            continue
        entry = {"id": task_id, "backend": claim.task.backend, "owner": claim.owner}
        if live.setdefault(claim.owner, lease.held(store.root, claim.owner)):
            running.append({**entry, **({"pid": claim.worker["pid"]}
                                        if claim.worker.get("pid") else {})})
        else:
            orphaned.append({**entry, "reason": "its coordinator is gone; the next `swarm run` "
                                                "or `swarm serve` requeues it"})
    return running, orphaned


def used_backends(config: SwarmConfig, store: Store | None) -> set[str]:
    """Backends that a queued or running task, the config file or a flag names."""
    used = set(config.caps) | ({"claude"} & config.model_fields_set)
    if store is None:
        return used
    for task_id in [*store.pending(), *store.processing()]:
        try:
            envelope = store.request(task_id) or store.claimed(task_id)
        except (DamagedFile, OSError):
            continue
        used.add(envelope.task.backend)
    return used


async def probe_all(config: SwarmConfig, *, root: Any = None) -> dict[str, dict[str, Any]]:
    """Probe every backend concurrently with a representative task, and each configured pool."""
    backends = all_backends(config)
    samples = {"claude": Task(id="health-probe", prompt="probe"),
               "command": Task(id="health-probe", backend="command", argv=("true",))}
    answers: dict[str, dict[str, Any]] = {}

    async def probe(name: str) -> None:
        health = await backends[name].probe(samples[name], timeout=config.health.probe_timeout)
        answers[name] = {"ok": health.ok, "detail": health.detail}

    async def probe_pool(name: str, backend: Any) -> None:
        backend.root = root
        answers[f"pool:{name}"] = await pool_health(backend, name,
                                                    timeout=config.health.probe_timeout)

    async with anyio.create_task_group() as group:
        for name in samples:
            group.start_soon(probe, name)
        for name, pool in config.pools.items():
            group.start_soon(probe_pool, name, backends[pool.backend])
    return dict(sorted(answers.items()))


def health_lines(answers: dict[str, dict[str, Any]]) -> list[str]:
    """``swarm health`` as text: a line per backend, and per endpoint of each pool."""
    lines = []
    for name, answer in answers.items():
        if "endpoints" not in answer:
            unused = "" if answer["ok"] or answer.get("used", True) else (
                " (unused: no task or config names it)")
            lines.append(f"{name:8} {'ok  ' if answer['ok'] else 'DOWN'} {answer['detail']}"
                         + unused)
            continue
        lines.append(f"{name} ({answer['backend']})")
        for endpoint in answer["endpoints"]:
            loaded = ", ".join(endpoint["loaded"]) or "none"
            lines.append(f"  {'up  ' if endpoint['ok'] else 'DOWN'} {endpoint['endpoint']}  "
                         f"loaded: {loaded}  concurrency: {endpoint.get('concurrency', '-')} "
                         f"({endpoint.get('why', '')})  {endpoint['detail']}")
    return lines
