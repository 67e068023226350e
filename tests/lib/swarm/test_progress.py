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
    assert rows[0] == ["TASK", "STATUS", "QUEUED", "SECONDS", "LOG", "REASON"]
    assert [row[:4] for row in rows[1:4]] == [["t1", "failed", "600.0", "0.0"],
                                             ["t2", "succeeded", "0.0", "2.3"],
                                             ["t3", "failed", "0.0", "0.0"]]


def test_the_summary_table_keeps_whole_reasons_and_gives_log_paths() -> None:
    reason = "worker exited with code 3; " + "stderr said: " + "x" * 150
    table = summary_table([
        {"id": "t1", "status": "failed", "reason": reason,
         "log": "/p/.swarm/logs/t1.stream.txt"},
        {"id": "t2", "status": "failed", "reason": "no result"}], base="/p")
    row1, row2 = table.splitlines()[1:3]
    assert row1.endswith(reason)
    assert row1.split()[4] == ".swarm/logs/t1.stream.txt"
    assert row2.split()[4] == "-"
