"""Fan-out of many loopback HTTP calls: ``hookswarm.lib.fanout`` beside a plain thread pool.

Run: ``.venv/bin/python bench/bench_fanout.py`` (``--calls 1000 --workers 50 --repeat 3``).

The server (``tests/fakes/echo_http.py``) runs in its own process and answers a small JSON
object at once, with keep-alive. Both sides call through one ``HttpCall`` per repeat (one
kept-alive connection per worker thread) and alternate within each repeat:

- plain: ``ThreadPoolExecutor(workers).map(call, items)``: no retries, no timeouts, no order
  bookkeeping beyond ``map``'s;
- fanout: ``fanout(call, items, workers=..., retries=1)``: outcomes in input order, retries,
  ``fail_fast`` off, no progress bar (stderr is not a terminal when piped);
- and, for the choice of client, the plain loop again through one httpx client with a pool
  of ``workers`` connections instead of ``HttpCall``.

Target (issue 15): 1,000 calls at 50 workers in <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from hookswarm.lib.fanout import HttpCall, State, fanout

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent


def _plain(call: HttpCall, items: list[str], workers: int) -> int:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(1 for _ in pool.map(call, items))


def _fanout(call: HttpCall, items: list[str], workers: int) -> int:
    outcomes = fanout(call, items, workers=workers, retries=1, progress=False)
    return sum(o.state is State.OK for o in outcomes)


def _httpx_plain(url: str, items: list[str], workers: int) -> float:

    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(timeout=10, limits=limits) as client:
        def call(item: str) -> object:
            response = client.get(f"{url}/item/{item}")
            response.raise_for_status()
            return response.json()

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(call, items))
        return time.perf_counter() - start


def _timed(run: Callable[[HttpCall, list[str], int], int], url: str, items: list[str],
           workers: int) -> float:
    with HttpCall(url + "/item/{item}", timeout=10) as call:
        start = time.perf_counter()
        done = run(call, items, workers)
        seconds = time.perf_counter() - start
    if done != len(items):
        raise SystemExit(f"only {done} of {len(items)} calls succeeded")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "tests.fakes.echo_http"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[1]
        items = [str(i) for i in range(args.calls)]
        _timed(_plain, url, items[:50], args.workers)  # warm the server's threads
        plain, fan, via_httpx = [], [], []
        for _ in range(args.repeat):
            plain.append(_timed(_plain, url, items, args.workers))
            fan.append(_timed(_fanout, url, items, args.workers))
            via_httpx.append(_httpx_plain(url, items, args.workers))
    finally:
        os.killpg(server.pid, 9)
        server.wait()
    p, f = statistics.median(plain), statistics.median(fan)
    print(f"{args.calls} loopback calls at {args.workers} workers, median of {args.repeat}:")
    print(f"  plain ThreadPoolExecutor  {p:.3f} s  ({args.calls / p:,.0f} calls/s)")
    print(f"  fanout                    {f:.3f} s  ({args.calls / f:,.0f} calls/s)  "
          f"ratio {f / p:.2f}x plain")
    h = statistics.median(via_httpx)
    print(f"  plain loop through httpx {h:.3f} s  ({args.calls / h:,.0f} calls/s)")
    print(f"  target <= 1 s: {'met' if f <= 1.0 else 'missed'}")


if __name__ == "__main__":
    main()
