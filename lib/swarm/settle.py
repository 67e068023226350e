"""Ending tasks: kill what a task's processes left behind, then write its result.

Tasks that end in a burst are settled together: one ``/proc`` sweep and one batch of result
writes (:meth:`Store.finish_all`: one wait for the disk) in one worker-thread call, so a burst
of endings costs one thread hop, one scan and one flush. A task waits for a settling that began
after it ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from hookswarm.lib import process_scan
from hookswarm.lib.swarm.lease import OWNER_ENV
from hookswarm.lib.swarm.result import TaskResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.swarm.store import Store

TASK_ID_ENV = "SWARM_TASK_ID"
_Ending = tuple[TaskResult, int | None]


class Settler:
    """Settles the tasks of the coordinator ``owner`` (whose mark its workers carry)."""

    def __init__(self, store: Store, owner: str) -> None:
        self._store = store
        self._owner = owner
        self._pending: dict[str, _Ending] = {}
        self._done: dict[str, bool | Exception] = {}
        self._lock = anyio.Lock()

    async def settle(self, result: TaskResult, worker_pid: int | None) -> bool:
        """Sweep the task's leftovers (newer than its worker), then write its result.

        True if the result was written, False if the task had one already; raises what
        :meth:`Store.finish` raises.
        """
        self._pending[result.id] = (result, worker_pid)
        async with self._lock:
            if result.id not in self._done:
                batch, self._pending = self._pending, {}
                self._done.update(await anyio.to_thread.run_sync(self._settle_all, batch))
        outcome = self._done.pop(result.id)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _settle_all(self, batch: Mapping[str, _Ending]) -> dict[str, bool | Exception]:
        self._sweep({task_id: pid for task_id, (_, pid) in batch.items() if pid})
        try:
            return dict(self._store.finish_all(
                {task_id: result.to_json() for task_id, (result, _) in batch.items()},
                update_state=False))
        except Exception as exc:  # raised again in each task it belongs to
            return dict.fromkeys(batch, exc)

    def sweep_all(self) -> None:
        """Kill anything still carrying this coordinator's mark (when it stops)."""
        process_scan.sweep(f"{OWNER_ENV}={self._owner}")

    def _sweep(self, workers: Mapping[str, int]) -> None:
        if workers:
            process_scan.sweep(f"{OWNER_ENV}={self._owner}",
                               any_of=[f"{TASK_ID_ENV}={i}" for i in workers],
                               since=min(workers.values()))
