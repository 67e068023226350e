"""Coordinator overhead: spawn latency and parallel efficiency of ``swarm`` command workers.

Run: ``.venv/bin/python bench/bench_swarm.py`` (``--sizes 3 10 50``, ``--seconds 1``,
``--repeat 3``).

For each size N, N command workers (``sleep SECONDS``) run under a cap of N (the matching
cap) through the real path of ``swarm run``: requests in ``.swarm/requests``, atomic claims,
logs, results. Every worker could start at once, so the ideal wall time is SECONDS.

- spawn latency: from the moment the coordinator saw a request to the moment the worker's
  process existed (``queued`` to ``started`` events); p50, p95 and max over all workers of all
  repeats. For context, the same from admission (a free slot) to process start.
- parallel efficiency: ideal wall time / measured wall time, from the first request seen to
  the last result written, printed next to the ideal (1.000).
- the machine's floor, measured side by side: the same N workers started by a bare loop
  (``os.posix_spawn`` in a new session, exits seen through pidfds, no store, no logs, no
  results). Its spawn p50 and efficiency are the best any coordinator written in Python can
  reach on this machine; ``vs floor`` is the coordinator's wall time over the floor's.
- the physical floor for a worker whose output is watched: the same loop, each child also
  given the three pipes a worker gets (``piped``), so the cost of the pipes themselves shows
  apart from the coordinator's.
- the physical floor for a coordinator that cannot lose a task: the piped loop, each spawn
  preceded by the atomic claim a crash-safe queue needs (one ``rename`` of a request file
  from ``requests/`` to ``processing/``; ``claimed``).
- coordinator CPU per worker (this process's CPU time / N): the part of the cost that does
  not depend on how busy the machine is. On a loaded 2-core machine the spawns queue for a
  core (vfork suspends the coordinator until the child has exec'd), so read the latency
  figures together with the load average printed at the end.

Targets: wall <= 1.01x the floor's at 3 and 10 workers and <= 1.03x at 50; spawn p50 <= the
floor's + 2 ms (the ``floor`` line's ``swarm:`` figures).
"""

from __future__ import annotations

import argparse
import os
import selectors
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks


def one_run(size: int, seconds: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-swarm-"))
    try:
        store = Store.for_project(root)
        tasks = build_tasks([{"backend": "command", "argv": ["sleep", str(seconds)]}
                             for _ in range(size)], base=str(root))
        ids = store.submit(tasks)
        events: list[dict[str, Any]] = []
        config = SwarmConfig(max_parallel=size)
        coordinator = Coordinator(store, config, on_event=events.append)
        cpu = time.process_time()
        anyio.run(lambda: coordinator.run(only=ids))
        return {**measure(events, ids, store),
                "cpu_ms": (time.process_time() - cpu) * 1000 / size}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def floor_run(size: int, seconds: float, *, piped: bool = False,
              claimed: bool = False) -> dict[str, Any]:
    """N workers started and reaped by a bare loop: the machine without a coordinator."""
    argv = ["sleep", str(seconds)]
    program = shutil.which(argv[0]) or argv[0]
    env = dict(os.environ)
    waits = selectors.DefaultSelector()
    queue = Path(tempfile.mkdtemp(prefix="bench-swarm-claims-"))
    requests = [queue / f"{n}.json" for n in range(size if claimed else 0)]
    for request in requests:
        request.write_bytes(b"{}")
    (queue / "processing").mkdir()
    began = time.monotonic()
    latency = []
    for n in range(size):
        if claimed:
            os.rename(requests[n], queue / "processing" / requests[n].name)
        ours, theirs = pipes() if piped or claimed else ([], [])
        pid = os.posix_spawn(program, argv, env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, fd, n) for n, fd in enumerate(theirs)])
        latency.append((time.monotonic() - began) * 1000)
        for fd in theirs:
            os.close(fd)
        waits.register(os.pidfd_open(pid), selectors.EVENT_READ, (pid, ours))
    while waits.get_map():
        for key, _ in waits.select():
            waits.unregister(key.fd)
            os.close(key.fd)
            os.waitpid(key.data[0], 0)
            for fd in key.data[1]:
                os.close(fd)
    wall = time.monotonic() - began
    shutil.rmtree(queue, ignore_errors=True)
    return {"latency": latency, "wall": wall}


def pipes() -> tuple[list[int], list[int]]:
    """(ours, the child's) ends of a stdin, a stdout and a stderr pipe."""
    stdin, stdout, stderr = (os.pipe2(os.O_CLOEXEC) for _ in range(3))
    return [stdin[1], stdout[0], stderr[0]], [stdin[0], stdout[1], stderr[1]]


def measure(events: list[dict[str, Any]], ids: list[str], store: Store) -> dict[str, Any]:
    seen = {e["id"]: e["t"] for e in events if e["kind"] == "queued"}
    started = {e["id"]: e for e in events if e["kind"] == "started"}
    ended = max(e["t"] for e in events if e["kind"] == "ended")
    statuses = {r["status"] for i in ids if (r := store.result(i))}
    assert statuses == {"succeeded"}, statuses
    return {"latency": [(started[i]["t"] - seen[i]) * 1000 for i in ids],
            "admit": [started[i]["spawn_ms"] for i in ids],
            "wall": ended - min(seen.values())}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 50])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    one_run(1, 0.05)  # warm-up: the first run in a process pays lazy imports and first calls
    for size in args.sizes:
        runs: list[dict[str, Any]] = []
        floors: dict[str, list[dict[str, Any]]] = {"floor": [], "piped": [], "claimed": []}
        for _ in range(args.repeat):  # interleaved, so all see the same machine
            runs.append(one_run(size, args.seconds))
            floors["floor"].append(floor_run(size, args.seconds))
            floors["piped"].append(floor_run(size, args.seconds, piped=True))
            floors["claimed"].append(floor_run(size, args.seconds, claimed=True))
        report(size, args.seconds, runs, floors)
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def report(size: int, ideal: float, runs: list[dict[str, Any]],
           floors: dict[str, list[dict[str, Any]]]) -> None:
    """One block per size; ``ideal`` is the wall time if every worker started at once."""
    latency = [v for r in runs for v in r["latency"]]
    wall, p50 = statistics.median(r["wall"] for r in runs), statistics.median(latency)
    print(f"{size} workers, cap {size} (ideal wall {ideal:.3f} s)")
    print(f"  {'swarm':<8} spawn p50 {p50:6.2f} ms  p95 {pct(latency, 0.95):6.2f} ms  "
          f"max {max(latency):6.2f} ms  wall {wall:.3f} s  efficiency {ideal / wall:6.1%}  "
          f"(admission to spawn p50 "
          f"{statistics.median(v for r in runs for v in r['admit']):.2f} ms, coordinator CPU "
          f"{statistics.median(r['cpu_ms'] for r in runs):.2f} ms per worker)")
    for name, loop in floors.items():
        loop_wall = statistics.median(r["wall"] for r in loop)
        loop_p50 = statistics.median(v for r in loop for v in r["latency"])
        ratios = " ".join(f"{r['wall'] / f['wall']:.3f}x"
                          for r, f in sorted(zip(runs, loop, strict=True),
                                             key=lambda pair: pair[0]["wall"] / pair[1]["wall"]))
        print(f"  {name:<8} spawn p50 {loop_p50:6.2f} ms  wall {loop_wall:.3f} s  "
              f"efficiency {ideal / loop_wall:6.1%}  | swarm: wall {wall / loop_wall:.3f}x, "
              f"spawn p50 {p50 - loop_p50:+.2f} ms  (wall per repeat: {ratios})")


if __name__ == "__main__":
    main()
