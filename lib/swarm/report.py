"""What ``swarm status`` and ``swarm health`` report, as plain data."""

from __future__ import annotations

from typing import Any

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.metrics import parallel_efficiency
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import Task


def status_report(store: Store) -> dict[str, Any]:
    """Counts from ``state.json``, running tasks, and the last session's efficiency."""
    state = store.state()
    session = state.get("session") or {}
    since = float(session.get("started_at", 0.0))
    cap = int(session.get("max_parallel", 1))
    by_status: dict[str, int] = {}
    intervals = []
    for result in store.results():
        by_status[result["status"]] = by_status.get(result["status"], 0) + 1
        if result.get("started_at", 0.0) >= since and result.get("duration_s", 0.0) > 0:
            intervals.append((float(result["started_at"]), float(result["ended_at"])))
    running = []
    for task_id in store.processing():
        try:
            claim = store.claimed(task_id)
        except (OSError, ValueError):
            continue
        running.append({"id": task_id, "backend": claim.task.backend, "owner": claim.owner,
                        **({"pid": claim.worker["pid"]} if claim.worker.get("pid") else {})})
    return {"active": state.get("active", 0), "queued": state.get("queued", 0),
            "finished": state.get("finished", 0), "max_parallel": cap,
            "efficiency": parallel_efficiency(intervals, cap=cap), "running": running,
            "by_status": by_status}


async def probe_all(config: SwarmConfig) -> dict[str, dict[str, Any]]:
    """Probe every backend concurrently with a representative task."""
    import anyio

    from hookswarm.lib.swarm.backend import registry

    backends = registry(config)
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
