"""What ``swarm status`` and ``swarm health`` report, as plain data."""

from __future__ import annotations

from typing import Any

import anyio

from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.metrics import parallel_efficiency
from hookswarm.lib.swarm.registry import backends as all_backends
from hookswarm.lib.swarm.result import number
from hookswarm.lib.swarm.store import DamagedFile, Store
from hookswarm.lib.swarm.task import Task


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


async def probe_all(config: SwarmConfig) -> dict[str, dict[str, Any]]:
    """Probe every backend concurrently with a representative task."""
    backends = all_backends(config)
    samples = {"claude": Task(id="health-probe", prompt="probe"),
               "command": Task(id="health-probe", backend="command", argv=("true",))}
    answers: dict[str, dict[str, Any]] = {}

    async def probe(name: str) -> None:
        health = await backends[name].probe(samples[name], timeout=config.health.probe_timeout)
        answers[name] = {"ok": health.ok, "detail": health.detail}

    async with anyio.create_task_group() as group:
        for name in backends:
            group.start_soon(probe, name)
    return dict(sorted(answers.items()))
