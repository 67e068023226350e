"""A task's log is held to log_max: head and tail kept, the cut marked with its size."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.tasklog import MARKER_WIDTH, TaskLog
from tests.helpers.swarm import coordinate

if TYPE_CHECKING:
    from pathlib import Path

    from hookswarm.lib.swarm.store import Store


def numbered(count: int) -> list[bytes]:
    return [f"line {i:07d}\n".encode() for i in range(count)]


def write_all(path: Path, chunks: list[bytes], cap: int) -> TaskLog:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    before = os.fstat(fd).st_size
    try:
        log = TaskLog(fd, cap=cap)
        for chunk in chunks:
            log.write(chunk)
            assert os.fstat(fd).st_size - before <= cap
    finally:
        os.close(fd)
    return log


@pytest.mark.parametrize(("lines", "per_chunk"), [(2000, 1), (2000, 7), (20000, 300), (50, 1)])
def test_the_log_keeps_head_and_tail_and_counts_the_cut(tmp_path: Path, lines: int,
                                                        per_chunk: int) -> None:
    cap = 4096
    output = numbered(lines)
    chunks = [b"".join(output[i:i + per_chunk]) for i in range(0, lines, per_chunk)]
    whole = b"".join(output)
    log = write_all(tmp_path / "log", chunks, cap)
    kept = (tmp_path / "log").read_bytes()
    if len(whole) <= cap:
        assert kept == whole
        assert log.cut == 0
        return
    head, mark, tail = kept[:cap // 2], kept[cap // 2:cap // 2 + MARKER_WIDTH], kept[
        cap // 2 + MARKER_WIDTH:]
    assert whole.startswith(head)
    assert whole.endswith(tail)
    assert len(tail) >= (cap - cap // 2 - MARKER_WIDTH) // 2
    found = re.search(rb"\[swarm: (\d+) bytes of output cut here", mark)
    assert found is not None
    assert int(found.group(1)) == log.cut
    assert len(head) + log.cut + len(tail) == len(whole)


def test_a_log_appended_to_keeps_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"first run\n")
    write_all(path, numbered(1000), 4096)
    assert path.read_bytes().startswith(b"first run\nline 0000000\n")


def test_a_worker_printing_far_past_log_max_leaves_a_bounded_log(swarm_dir: Store,
                                                                 tmp_path: Path) -> None:
    loud = "head -c 3000000 /dev/zero | tr '\\0' 'x'; echo; echo the end"
    coordinate(swarm_dir, [{"id": "loud", "backend": "command", "argv": ["sh", "-c", loud]}],
               tmp_path, config=SwarmConfig(log_max=65536))
    result = swarm_dir.result("loud") or {}
    assert result["status"] == "succeeded"
    assert result["output_bytes"] == 3000000 + len("\nthe end\n")
    log = swarm_dir.log_path("loud").read_bytes()
    assert len(log) <= 65536
    assert log.endswith(b"x\nthe end\n")
    assert b"bytes of output cut here" in log
