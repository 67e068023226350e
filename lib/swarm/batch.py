"""Run a batch of tasks through the coordinator: the one way plans, reviews and councils work.

A pattern hands its tasks to a :data:`Runner` and gets their results back in the tasks'
order. The real runner submits them to the ``.swarm/`` store and runs a coordinator over
exactly those ids; tests inject a fake one. ``read_spec`` reads the patterns' TOML files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.errors import first_problem
from hookswarm.lib.swarm.task import read_text

if TYPE_CHECKING:
    from pydantic import BaseModel

    from hookswarm.lib.swarm.backend import Backend
    from hookswarm.lib.swarm.config import SwarmConfig
    from hookswarm.lib.swarm.errors import SwarmError
    from hookswarm.lib.swarm.store import Store
    from hookswarm.lib.swarm.task import Task

Spec = TypeVar("Spec", bound="BaseModel")
Runner = Callable[[Sequence["Task"]], Awaitable[list[dict[str, Any]]]]
OnEvent = Callable[[dict[str, Any]], None]


def missing(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "status": "failed", "reason": "no result was written"}


@dataclass
class StoreRunner:
    """Runs batches on ``store`` with a fresh coordinator each; cancelled, results stay."""

    store: Store
    config: SwarmConfig
    environ: Mapping[str, str] | None = None
    backends: Mapping[str, Backend] | None = None
    on_event: OnEvent | None = None
    submitted: list[str] = field(default_factory=list)

    async def __call__(self, tasks: Sequence[Task]) -> list[dict[str, Any]]:

        ids = self.store.submit(tasks)
        self.submitted.extend(ids)
        coordinator = Coordinator(self.store, self.config, backends=self.backends,
                                  environ=self.environ, on_event=self.on_event)
        await coordinator.run(only=ids)
        return [found.to_json() if (found := coordinator.results.get(i))
                else self.store.result(i) or missing(i) for i in ids]

    def results(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """What the store holds for ``ids`` (after a cancelled batch, say)."""
        return [self.store.result(i) or missing(i) for i in ids]


def answer_text(result: Mapping[str, Any]) -> str:
    """A worker's answer: a claude worker's final result, else what the worker printed."""
    worker = result.get("worker") or {}
    if isinstance(worker.get("result"), str):
        return str(worker["result"])
    log = result.get("log")
    if not log:
        return ""
    try:
        return Path(str(log)).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def read_spec(path: Path, model: type[Spec], *, what: str, error: type[SwarmError]) -> Spec:
    """A pattern's TOML file validated by ``model``; ``error`` names the file and the key."""



    try:
        return model.model_validate(tomllib.loads(read_text(path, what=what)))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        key, reason = first_problem(exc, model)
        raise error(f"{path}: key '{key}': {reason}") from None
