"""What `swarm run` prints: the summary table."""

from __future__ import annotations

from hookswarm.lib.swarm.progress import summary_table


def test_the_summary_table_shows_the_time_each_task_waited() -> None:
    table = summary_table([
        {"id": "t1", "status": "failed", "duration_s": 0.0, "queued_s": 600.04,
         "reason": "backend down"},
        {"id": "t2", "status": "succeeded", "duration_s": 2.26, "queued_s": 0.001,
         "reason": "ended cleanly"},
        {"id": "t3", "status": "failed", "reason": "no result"}])
    rows = [line.split() for line in table.splitlines()]
    assert rows[0] == ["TASK", "STATUS", "QUEUED", "SECONDS", "REASON"]
    assert [row[:4] for row in rows[1:4]] == [["t1", "failed", "600.0", "0.0"],
                                             ["t2", "succeeded", "0.0", "2.3"],
                                             ["t3", "failed", "0.0", "0.0"]]
