"""Stream-json line assembly in the claude backend: one huge line, fed in 64 KiB chunks.

Run: ``.venv/bin/python bench/bench_stream.py`` (``--mib 16 64 256``, ``--repeat 3``).

For each size, a single line of that many MiB (then a newline) goes through the backend's
``LineSplitter`` with ``max_line`` above the size (the line is assembled and returned) and
below it (the line is dropped as it arrives). Side by side, the floor: the same chunks
scanned for a newline and nothing else. Assembly is linear when the time per MiB of a kept
line stays flat as the size grows (the old assembly re-copied the unfinished line for every
chunk: a 64 MB line took 28 s); a dropped line costs about what the floor does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING

from hookswarm.lib.swarm.claude import LineSplitter

if TYPE_CHECKING:
    from collections.abc import Callable

CHUNK = 65536


def chunks(mib: int) -> list[bytes]:
    body = [b"x" * CHUNK] * (mib * 1024 * 1024 // CHUNK)
    return [*body, b"\n"]


def timed(work: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def split(pieces: list[bytes], limit: int) -> None:
    splitter = LineSplitter(limit)
    for piece in pieces:
        splitter.feed(piece)


def floor(pieces: list[bytes]) -> None:
    for piece in pieces:
        piece.find(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'line MiB':>8} | {'floor ms':>9} | {'kept ms':>9} {'per MiB':>8} | "
          f"{'dropped ms':>10} {'vs floor':>8}")
    for mib in args.mib:
        pieces = chunks(mib)
        base = timed(lambda p=pieces: floor(p), args.repeat)
        kept = timed(lambda p=pieces, m=mib: split(p, (m + 1) << 20), args.repeat)
        dropped = timed(lambda p=pieces: split(p, 1 << 20), args.repeat)
        print(f"{mib:>8} | {base * 1000:>9.1f} | {kept * 1000:>9.1f} {kept * 1000 / mib:>6.2f}ms | "
              f"{dropped * 1000:>10.1f} {dropped / base:>7.1f}x")


if __name__ == "__main__":
    main()
