"""The ``command`` backend: any argv, the prompt on stdin; success is exit status 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookswarm.lib.swarm.backend import (
    Health,
    Launch,
    ProcessWorker,
    WorkerEnd,
    exit_reason,
    start_process,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.swarm.config import SwarmConfig
    from hookswarm.lib.swarm.task import Task

_TAIL = 400


class _ExitJudge:
    def __init__(self) -> None:
        self._stderr_tail = b""

    def feed(self, stream: int, chunk: bytes) -> None:
        if stream == 2:
            self._stderr_tail = (self._stderr_tail + chunk)[-_TAIL:]

    def judge(self, exit_code: int) -> WorkerEnd:
        if exit_code == 0:
            return WorkerEnd(clean=True, reason="", exit_code=0)
        tail = self._stderr_tail.decode(errors="replace").strip().splitlines()[-1:] or [""]
        reason = exit_reason(exit_code) + (f": {tail[0]}" if tail[0] else "")
        return WorkerEnd(clean=False, reason=reason, exit_code=exit_code)


class CommandBackend:
    """Runs ``task.argv`` in ``task.cwd``; a missing program is a failed result, not a crash."""

    name = "command"

    @classmethod
    def from_config(cls, config: SwarmConfig,
                    environ: Mapping[str, str] | None = None) -> CommandBackend:
        return cls()

    def health_key(self, task: Task) -> str:
        return "command"

    async def probe(self, task: Task, *, timeout: float) -> Health:
        return Health(ok=True, detail="runs local programs")

    def start(self, launch: Launch) -> ProcessWorker | WorkerEnd:
        return start_process(list(launch.task.argv), launch, _ExitJudge(),
                             stdin=launch.prompt.encode())
