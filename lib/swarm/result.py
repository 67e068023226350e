"""A task's result: one frozen record, built by a constructor per way a task can end.

``to_json`` is the one form written to ``results/{id}.json`` and printed by ``--json``. The
task is recorded with its env's names only: values (tokens, keys) never rest in a result.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hookswarm.lib.swarm.evidence import Status

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hookswarm.lib.swarm.task import Task


def task_record(task: Task) -> dict[str, Any]:
    """The task as a result records it: every field, the env reduced to its names."""
    return {**task.model_dump(mode="json"), "env": sorted(task.env)}


@dataclass(frozen=True, slots=True)
class Run:
    """What a worker that started did: how it was watched, what it printed, what it left."""

    model: str
    exit_code: int | None
    spawn_ms: float
    deadlines: tuple[float, ...] = ()
    warned: bool = False
    output_bytes: int = 0
    evidence: tuple[Mapping[str, Any], ...] = ()
    worker: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskResult:
    """How one task ended. Only ``Status.SUCCEEDED`` is a success."""

    id: str
    status: Status
    reason: str
    backend: str
    log: str
    attempt: int = 0
    started_at: float = 0.0
    ended_at: float = 0.0
    queued_s: float = 0.0
    task: Mapping[str, Any] | None = None
    run: Run | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def judged(cls, task: Task, status: Status, reason: str, *, log: str, attempt: int,
               started_at: float, ended_at: float, queued_s: float, run: Run,
               notes: Sequence[str] = ()) -> TaskResult:
        """A task whose worker started and was judged on its end and its evidence."""
        return cls(task.id, status, reason, task.backend, log, attempt, started_at, ended_at,
                   queued_s, task_record(task), run, tuple(notes))

    @classmethod
    def not_run(cls, task: Task, reason: str, *, log: str, attempt: int,
                queued_s: float = 0.0, notes: Sequence[str] = ()) -> TaskResult:
        """A ``failed`` task that never ran, or whose run the coordinator lost."""
        now = time.time()
        return cls(task.id, Status.FAILED, reason, task.backend, log, attempt, now, now,
                   queued_s, task_record(task), None, tuple(notes))

    @classmethod
    def rejected(cls, task_id: str, reason: str, *, log: str) -> TaskResult:
        """A ``failed`` task whose request could not be read (so nothing else is known)."""
        now = time.time()
        return cls(task_id, Status.FAILED, reason, "", log, started_at=now, ended_at=now)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskResult:
        """A result read back from its file (a damaged one reads as ``Status.DAMAGED``)."""
        try:
            status = Status(data.get("status"))
        except ValueError:
            status = Status.DAMAGED
        return cls(str(data.get("id", "")), status, str(data.get("reason", "")),
                   str(data.get("backend", "")), str(data.get("log", "")),
                   queued_s=number(data.get("queued_s")), started_at=number(
                       data.get("started_at")), ended_at=number(data.get("ended_at")))

    @property
    def succeeded(self) -> bool:
        return self.status is Status.SUCCEEDED

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "status": self.status.value, "reason": self.reason,
            "backend": self.backend, "log": self.log, "attempt": self.attempt,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "duration_s": round(self.ended_at - self.started_at, 6),
            "queued_s": round(self.queued_s, 6)}
        if self.task is not None:
            data["task"] = dict(self.task)
        if self.run is not None:
            data.update(_run_json(self.run))
        if self.notes:
            data["notes"] = list(self.notes)
        return data


def _run_json(run: Run) -> dict[str, Any]:
    return {"model": run.model, "exit_code": run.exit_code, "spawn_ms": round(run.spawn_ms, 3),
            "deadlines": list(run.deadlines), "warned": run.warned,
            "output_bytes": run.output_bytes, "evidence": [dict(e) for e in run.evidence],
            "worker": dict(run.worker)}


def number(value: Any, default: float = 0.0) -> float:
    """A number read from a file someone may have edited; anything else is ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return float(value)
