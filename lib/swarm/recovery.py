"""Picking up after a coordinator that died: kill its workers, then requeue or close its claims.

A claim whose owner no longer holds its lease is orphaned. Its worker (and anything the
worker started) is killed, found by the owner marker in the environment and by the recorded
session. The task then goes back to the queue, or gets a ``failed`` result once it has used
up its attempts, so every task still ends with exactly one result.

Every process marked by a dead coordinator is killed, whether or not a claim names it: a
coordinator that dies while starting a burst of workers leaves claims without an owner
(see ``Store.claiming``), and its lease file is what still names it.

A claim that carries its task's outcome (``results/`` could not take it when the task ended) is
closed by writing that outcome, so a task that ran does not run again.

A claim file that cannot be read is moved to ``rejected/`` and its task fails (claims are
written whole under the state lock, so it was damaged from outside, not caught mid-write).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from hookswarm.lib import process_scan
from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.result import TaskResult
from hookswarm.lib.swarm.store import DamagedFile, Envelope, Store

LATE = ("written by a later coordinator: results/ could not be written when the task ended, "
        "so its outcome was kept on its claim (the task did not run again)")


@dataclass(frozen=True, slots=True)
class Recovered:
    requeued: tuple[str, ...]
    failed: tuple[str, ...]
    closed: tuple[str, ...]
    killed: int
    rejected: tuple[tuple[str, str], ...] = ()  # (task id, reason): claims that could not be read


def recover(store: Store, *, max_attempts: int) -> Recovered:
    """Handle every orphaned claim in ``store``."""
    settled: dict[str, list[str]] = {"requeued": [], "failed": [], "closed": []}
    rejected: list[tuple[str, str]] = []
    killed = 0
    with store.lock():
        dead_owners = set(lease.dead_owners(store.root))
        for task_id in store.processing():
            envelope = _read_claim(store, task_id, rejected)
            if envelope is None or lease.alive(store.root, envelope.owner):
                continue
            dead_owners.add(envelope.owner)
            killed += _kill_worker(envelope)
            settled[_settle(store, envelope, max_attempts)].append(task_id)
        killed += _kill_marked(dead_owners - {""})
    return Recovered(tuple(settled["requeued"]), tuple(settled["failed"]),
                     tuple(settled["closed"]), killed, tuple(rejected))


def _read_claim(store: Store, task_id: str,
                rejected: list[tuple[str, str]]) -> Envelope | None:
    """The claim, or None when it is gone or damaged (a damaged one is rejected)."""
    try:
        return store.claimed(task_id)
    except FileNotFoundError:
        return None
    except DamagedFile as exc:
        result = store.reject("processing", task_id, exc)
        rejected.append((task_id, result.reason if result else str(exc)))
        return None


def _settle(store: Store, envelope: Envelope, max_attempts: int) -> str:
    """Close, fail or requeue an orphaned claim; says which."""
    task_id = envelope.task.id
    if store.has_result(task_id):
        with contextlib.suppress(OSError):  # left, it is closed again next time
            store.path("processing", task_id).unlink()
        return "closed"
    if envelope.ended is not None:  # it ran; only its result was not written
        store.finish(task_id, _written_late(envelope.ended))
        return "closed"
    if envelope.attempt + 1 >= max_attempts:
        store.finish(task_id, _abandoned(envelope, store))
        return "failed"
    store.requeue(task_id, attempt=envelope.attempt + 1)
    return "requeued"


def _kill_worker(envelope: Envelope) -> int:
    """Kill the session the claim names, if it is its coordinator's (a claim may be forged).

    A live session leader must carry the owner's marker; with the leader gone, only the
    members that carry it are killed.
    """
    pid, ticks = envelope.worker.get("pid"), envelope.worker.get("start_ticks")
    if not pid or not envelope.owner:
        return 0
    current = process_scan.start_ticks(pid)
    if current is not None and current != ticks:
        return 0  # the pid now belongs to an unrelated process
    marked = set(process_scan.processes_with_env(f"{lease.OWNER_ENV}={envelope.owner}"))
    if current is not None and pid not in marked:
        return 0  # not a worker of that coordinator: someone else's session
    members = process_scan.session_members(pid)
    members = members if current is not None else [m for m in members if m in marked]
    process_scan.kill_pids(members)
    return len(members)


def _kill_marked(owners: set[str]) -> int:
    marked = (process_scan.processes_with_env(f"{lease.OWNER_ENV}={owner}") for owner in owners)
    pids = [pid for found in marked for pid in found]
    process_scan.kill_pids(pids)
    return len(pids)


def _written_late(result: dict[str, Any]) -> dict[str, Any]:
    notes = result.get("notes")
    return {**result, "notes": [*(notes if isinstance(notes, list) else []), LATE]}


def _abandoned(envelope: Envelope, store: Store) -> dict[str, object]:
    reason = (f"its coordinator died {envelope.attempt + 1} times while running it; "
              "resubmit it if it is safe to run again")
    return TaskResult.not_run(envelope.task, reason, log=str(store.log_path(envelope.task.id)),
                              attempt=envelope.attempt).to_json()
