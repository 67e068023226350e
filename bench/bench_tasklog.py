"""What holding a task's log to ``log_max`` costs, followed by ``swarm logs -f`` or not.

Run: ``.venv/bin/python bench/bench_tasklog.py`` (``--megabytes N``, ``--cap-mib N``,
``--rounds N``).

Three cases, alternating in each round, each writing the same 64 KiB chunks:

- baseline: the chunks appended to a file with no bound;
- unfollowed: through ``TaskLog`` (cut in place under an exclusive lock);
- followed: through ``TaskLog`` while a ``LogFollower`` holds the log and reads it every
  64 chunks (each cut writes a new file and renames it over the old one); the follower's
  reading is included.

Prints each case's median wall time and its ratio to the baseline's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from hookswarm.lib.swarm.tasklog import LogFollower, TaskLog

CHUNK = b"x" * 65535 + b"\n"


def baseline(path: Path, chunks: int, cap: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(chunks):
            os.write(fd, CHUNK)
    finally:
        os.close(fd)


def unfollowed(path: Path, chunks: int, cap: int) -> None:
    log = TaskLog(path, cap=cap)
    try:
        for _ in range(chunks):
            log.write(CHUNK)
    finally:
        log.close()


def followed(path: Path, chunks: int, cap: int) -> None:
    log, follower = TaskLog(path, cap=cap), LogFollower(path)
    follower.read()
    try:
        for count in range(chunks):
            log.write(CHUNK)
            if count % 64 == 0:
                follower.read()
    finally:
        log.close()
        follower.read(final=True)
        follower.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--cap-mib", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    chunks, cap = args.megabytes * 1024 * 1024 // len(CHUNK), args.cap_mib * 1024 * 1024
    cases = {"baseline": baseline, "unfollowed": unfollowed, "followed": followed}
    times: dict[str, list[float]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for name, case in cases.items():
                path = Path(folder) / name
                started = time.perf_counter()
                case(path, chunks, cap)
                times[name].append(time.perf_counter() - started)
                path.unlink()
    base = statistics.median(times["baseline"])
    print(f"{args.megabytes} MB through a {args.cap_mib} MiB log, median of {args.rounds}:")
    for name, samples in times.items():
        wall = statistics.median(samples)
        print(f"  {name:10} {wall:7.3f} s  {wall / base:5.2f}x baseline")


if __name__ == "__main__":
    main()
