"""Picking up after a coordinator that died: kill its workers, then requeue or close its claims.

A claim whose owner no longer holds its lease is orphaned. Its worker (and anything the
worker started) is killed, found by the owner marker in the environment and by the recorded
session. The task then goes back to the queue, or gets a ``failed`` result once it has used
up its attempts, so every task still ends with exactly one result.

Every process marked by a dead coordinator is killed, whether or not a claim names it: a
coordinator that dies while starting a burst of workers leaves claims without an owner
(see ``Store.claiming``), and its lease file is what still names it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hookswarm.lib import process
from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.store import Envelope, Store


@dataclass(frozen=True, slots=True)
class Recovered:
    requeued: tuple[str, ...]
    failed: tuple[str, ...]
    closed: tuple[str, ...]
    killed: int


def recover(store: Store, *, max_attempts: int) -> Recovered:
    """Handle every orphaned claim in ``store``."""
    requeued: list[str] = []
    failed: list[str] = []
    closed: list[str] = []
    killed = 0
    with store.lock():
        dead_owners = set(lease.dead_owners(store.root))
        for task_id in store.processing():
            envelope = store.claimed(task_id)
            if lease.alive(store.root, envelope.owner):
                continue
            dead_owners.add(envelope.owner)
            killed += _kill_worker(envelope)
            if store.result(task_id) is not None:
                store.path("processing", task_id).unlink(missing_ok=True)
                closed.append(task_id)
            elif envelope.attempt + 1 >= max_attempts:
                store.finish(task_id, _abandoned(envelope, store))
                failed.append(task_id)
            else:
                store.requeue(task_id, attempt=envelope.attempt + 1)
                requeued.append(task_id)
        killed += _kill_marked(dead_owners - {""})
    return Recovered(tuple(requeued), tuple(failed), tuple(closed), killed)


def _kill_worker(envelope: Envelope) -> int:
    pid, ticks = envelope.worker.get("pid"), envelope.worker.get("start_ticks")
    if not pid:
        return 0
    current = process.start_ticks(pid)
    if current is not None and current != ticks:
        return 0  # the pid now belongs to an unrelated process
    members = process.session_members(pid)
    process.kill_pids(members)
    return len(members)


def _kill_marked(owners: set[str]) -> int:
    marked = (process.processes_with_env(f"{lease.OWNER_ENV}={owner}") for owner in owners)
    pids = [pid for found in marked for pid in found]
    process.kill_pids(pids)
    return len(pids)


def _abandoned(envelope: Envelope, store: Store) -> dict[str, object]:
    now = time.time()
    return {"id": envelope.task.id, "status": "failed", "backend": envelope.task.backend,
            "reason": f"its coordinator died {envelope.attempt + 1} times while running it; "
                      "resubmit it if it is safe to run again",
            "log": str(store.log_path(envelope.task.id)), "attempt": envelope.attempt,
            "started_at": now, "ended_at": now, "task": envelope.task.model_dump(mode="json")}
