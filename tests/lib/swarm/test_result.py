"""A task's result record: one constructor per ending, one JSON form, env names only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.evidence import Status
from hookswarm.lib.swarm.result import Run, TaskResult
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.swarm import coordinate

if TYPE_CHECKING:
    from pathlib import Path

    from hookswarm.lib.swarm.store import Store

SECRET = "sk-do-not-keep-0123456789"


def test_every_constructor_round_trips_its_status_and_reason(tmp_path: Path) -> None:
    [task] = build_tasks([{"id": "t", "prompt": "p", "env": {"TOKEN": SECRET}}],
                         base=str(tmp_path))
    run = Run("sonnet", 0, 1.5, (60.0,), False, 3, ({"path": "a", "exists": True},), {"k": 1})
    made = [TaskResult.judged(task, Status.UNVERIFIED, "no file", log="l", attempt=1,
                              started_at=10.0, ended_at=12.5, queued_s=0.25, run=run),
            TaskResult.not_run(task, "cancelled", log="l", attempt=0),
            TaskResult.rejected("t", "unreadable", log="l")]
    for result in made:
        data = result.to_json()
        back = TaskResult.from_json(data)
        assert (back.id, back.status, back.reason) == (result.id, result.status, result.reason)
        assert SECRET not in str(data)
    judged = made[0].to_json()
    assert judged["task"]["env"] == ["TOKEN"]
    assert (judged["duration_s"], judged["spawn_ms"], judged["model"]) == (2.5, 1.5, "sonnet")
    assert made[1].status is Status.FAILED
    assert "task" in made[1].to_json()
    assert "task" not in made[2].to_json()


@pytest.mark.parametrize(("status", "read"), [("succeeded", Status.SUCCEEDED),
                                              ("timed_out", Status.TIMED_OUT),
                                              ("damaged", Status.DAMAGED),
                                              ("no such status", Status.DAMAGED),
                                              (None, Status.DAMAGED)])
def test_a_stored_status_reads_back_as_an_enum_member(status: object, read: Status) -> None:
    assert TaskResult.from_json({"id": "t", "status": status}).status is read


def test_no_env_value_rests_under_swarm_once_the_task_has_ended(swarm_dir: Store,
                                                                tmp_path: Path) -> None:
    coordinate(swarm_dir, [{"id": "keyed", "backend": "command", "argv": ["true"],
                            "env": {"API_TOKEN": SECRET}}], tmp_path)
    result = swarm_dir.result("keyed") or {}
    assert result["status"] == "succeeded"
    assert result["task"]["env"] == ["API_TOKEN"]
    kept = [p for p in swarm_dir.root.rglob("*") if p.is_file() and SECRET in p.read_text()]
    assert kept == []
