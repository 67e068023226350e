"""A task's log is held to log_max: head and tail kept, the cut marked with its size."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import anyio
import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.task import build_tasks
from hookswarm.lib.swarm.tasklog import FOLLOW_CUT, MARKER_WIDTH, LogFollower, TaskLog
from tests.helpers.swarm import coordinate, unprivileged

if TYPE_CHECKING:
    from pathlib import Path

    from hookswarm.lib.swarm.store import Store


def numbered(count: int) -> list[bytes]:
    return [f"line {i:07d}\n".encode() for i in range(count)]


def write_all(path: Path, chunks: list[bytes], cap: int) -> TaskLog:
    before = path.stat().st_size if path.exists() else 0
    log = TaskLog(path, cap=cap)
    try:
        for chunk in chunks:
            log.write(chunk)
            assert path.stat().st_size - before <= cap
    finally:
        log.close()
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


def followed(path: Path, chunks: list[bytes], cap: int, every: int) -> bytes:
    """What a follower reading after every ``every`` chunks prints of the whole run."""
    log, follower = TaskLog(path, cap=cap), LogFollower(path)
    seen = []
    try:
        for count, chunk in enumerate(chunks, 1):
            log.write(chunk)
            if count % every == 0:
                seen.append(follower.read())
    finally:
        log.close()
    seen.append(follower.read(final=True))
    follower.close()
    return b"".join(seen)


@pytest.mark.parametrize("per_chunk", [1, 7, 40])
def test_a_follower_that_keeps_up_sees_every_byte_once_across_the_cuts(tmp_path: Path,
                                                                       per_chunk: int) -> None:
    output = numbered(3000)
    chunks = [b"".join(output[i:i + per_chunk]) for i in range(0, len(output), per_chunk)]
    assert followed(tmp_path / "log", chunks, 4096, every=1) == b"".join(output)


@pytest.mark.parametrize(("every", "per_chunk"), [(3, 7), (50, 1), (7, 40), (400, 3)])
def test_a_follower_that_falls_behind_skips_only_what_was_cut_and_says_so(
        tmp_path: Path, every: int, per_chunk: int) -> None:
    output = numbered(6000)
    chunks = [b"".join(output[i:i + per_chunk]) for i in range(0, len(output), per_chunk)]
    seen = followed(tmp_path / "log", chunks, 4096, every=every)
    kept = (tmp_path / "log").read_bytes()
    assert seen.endswith(kept[-900:])
    pieces = re.split(re.escape(FOLLOW_CUT) + rb"|\n\[swarm: \d+ bytes of output cut [^\n]*\n",
                      seen)
    numbers = []
    for index, piece in enumerate(pieces):
        lines = piece.split(b"\n")  # around a cut, a line may be partial
        lines = lines[1 if index else 0:None if index == len(pieces) - 1 else -1]
        assert all(re.fullmatch(rb"line \d{7}", line) for line in lines if line)
        numbers += [int(line[5:]) for line in lines if line]
    assert numbers == sorted(set(numbers))
    assert numbers[:10] == list(range(10))
    assert numbers[-1] == 5999
    assert (len(pieces) > 1) == (len(numbers) < 6000)


def test_a_trailer_left_by_a_writer_that_died_before_its_rename_is_not_printed(
        tmp_path: Path) -> None:
    path = tmp_path / "log"
    log = TaskLog(path, cap=4096)
    for line in numbered(100):
        log.write(line)
    log.close()
    copy = path.read_bytes()
    path.write_bytes(copy + b"\0swarm: continued after %020d cut at %020d, marked at %020d\0\n"
                     % (1, 2, 3))
    follower = LogFollower(path)
    assert follower.read() == copy
    assert follower.read(final=True) == b""
    follower.close()


def test_output_that_only_looks_like_a_trailer_is_printed(tmp_path: Path) -> None:
    path = tmp_path / "log"
    fake = b"before\0swarm: continued after 12"
    path.write_bytes(fake)
    follower = LogFollower(path)
    assert follower.read() == b"before"
    with path.open("ab") as more:
        more.write(b" and more\n")
    assert follower.read() == fake[6:] + b" and more\n"
    follower.close()


def test_a_log_folder_that_takes_no_new_file_is_trimmed_in_place(tmp_path: Path) -> None:
    path = tmp_path / "log"
    log = TaskLog(path, cap=4096)
    tmp_path.chmod(0o500)
    try:
        def write() -> None:
            for line in numbered(2000):
                log.write(line)

        assert unprivileged(write) == 0
    finally:
        tmp_path.chmod(0o700)
        log.close()
    kept = path.read_bytes()
    assert len(kept) <= 4096
    assert kept.endswith(b"line 0001999\n")


BLOCKS = """
for block in 0 1 2 3 4 5; do
  i=0
  while [ $i -lt 300 ]; do printf 'line %07d\\n' $((block * 300 + i)); i=$((i + 1)); done
  until [ -e go-$block ]; do sleep 0.01; done
done
"""


def test_swarm_logs_follow_prints_each_line_once_in_order_across_the_cuts(
        swarm_dir: Store, tmp_path: Path) -> None:
    """The worker prints a block only once the follower has printed the one before."""
    [task] = build_tasks([{"id": "loud", "backend": "command", "argv": ["sh", "-c", BLOCKS]}],
                         base=str(tmp_path))
    swarm_dir.submit([task])
    coordinator = Coordinator(swarm_dir, SwarmConfig(log_max=4096))
    running = threading.Thread(target=lambda: anyio.run(lambda: coordinator.run(only=["loud"])))
    running.start()
    follow = subprocess.Popen([sys.executable, "-m", "hookswarm.lib.swarm.cli", "--dir",
                               str(tmp_path), "logs", "-f", "loud"], stdout=subprocess.PIPE)
    assert follow.stdout is not None
    seen: list[bytes] = []
    try:
        for block in range(6):
            while not seen or seen[-1] != b"line %07d\n" % (block * 300 + 299):
                line = follow.stdout.readline()
                assert line, f"the follower ended before block {block} was printed: {seen[-3:]}"
                seen.append(line)
            (tmp_path / f"go-{block}").touch()
        seen += follow.stdout.readlines()
        assert follow.wait() == 0
    finally:
        for block in range(6):
            (tmp_path / f"go-{block}").touch()
        follow.kill()
        running.join()
    assert (swarm_dir.result("loud") or {})["status"] == "succeeded"
    assert len(swarm_dir.log_path("loud").read_bytes()) <= 4096
    text = re.split(re.escape(FOLLOW_CUT), b"".join(seen))
    numbers = [int(line[5:]) for piece in text for line in piece.split(b"\n")[1 if piece
               is not text[0] else 0:] if line]
    assert numbers == sorted(set(numbers))
    assert numbers[-1] == 1799
