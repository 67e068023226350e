"""Coordinator overhead for HTTP workers: CPU per task, and 1,000 tasks at concurrency 50.

Run: ``.venv/bin/python bench/bench_http_tasks.py`` (``--tasks 1000 --concurrency 50
--repeat 3``).

The server is the scripted Ollama from ``tests/fakes`` in its own process, answering four
words at once (instant tokens), with as many parallel slots as the concurrency. Measured side
by side in one run, each repeat alternating the two:

- the bare HTTP loop: the same streaming ``/api/chat`` requests from one httpx client, N at a
  time, reading each answer to its last line; no store, no logs, no results. Its wall time is
  the floor any Python coordinator can reach against this server on this machine.
- swarm: the same number of ``ollama`` tasks through the durable store (submitted first, then
  one coordinator run: claims, logs, evidence, results written with fsync), endpoint
  concurrency N. Wall time of the run; the coordinator's CPU time per task (this process's CPU
  time over the run / tasks: the part that does not depend on how loaded the machine is).

Targets (issue 12): coordinator CPU per HTTP task <= 2 ms; 1,000 tasks at concurrency 50 in
<= 5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(concurrency: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.ollama_api", "--port", str(port), "--words", "4",
         "--num-parallel", str(concurrency), "--quiet"], cwd=REPO, stdout=subprocess.PIPE)
    assert server.stdout is not None
    if server.stdout.readline().strip() != b"ready":
        raise SystemExit("the scripted Ollama did not start")
    return server, f"http://127.0.0.1:{port}"


async def bare_loop(url: str, tasks: int, concurrency: int) -> tuple[float, float]:
    """Wall seconds, and CPU milliseconds per request, of the bare loop."""
    body = {"model": "tiny", "messages": [{"role": "user", "content": "go"}], "stream": True}
    limiter = anyio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)

    async with httpx.AsyncClient(timeout=None, limits=limits, trust_env=False) as client:
        async def one() -> None:
            async with limiter, client.stream("POST", url + "/api/chat", json=body) as reply:
                async for _line in reply.aiter_lines():
                    pass

        cpu, started = time.process_time(), time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(tasks):
                group.start_soon(one)
        return (time.perf_counter() - started,
                (time.process_time() - cpu) / tasks * 1000)


def swarm_run(url: str, tasks: int, concurrency: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-http-"))
    try:
        store = Store.for_project(root)
        entries = [{"backend": "ollama", "pool": "local", "model": "tiny", "prompt": "go"}
                   for _ in range(tasks)]
        ids = store.submit(build_tasks(entries, base=str(root)))
        config = SwarmConfig.model_validate({
            "max_parallel": concurrency, "pools": {"local": {
                "backend": "ollama", "endpoints": [{"url": url, "concurrency": concurrency}]}}})
        coordinator = Coordinator(store, config)
        cpu, started = time.process_time(), time.perf_counter()
        anyio.run(lambda: coordinator.run(only=ids))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        statuses = {store.result(i)["status"] for i in ids}  # type: ignore[index]
        if statuses != {"succeeded"}:
            raise SystemExit(f"not every task succeeded: {statuses}")
        return {"wall": wall, "cpu_ms": cpu / tasks * 1000}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server, url = start_server(args.concurrency)
    try:
        bare: list[tuple[float, float]] = []
        runs = []
        for _ in range(args.repeat):
            bare.append(anyio.run(bare_loop, url, args.tasks, args.concurrency))
            runs.append(swarm_run(url, args.tasks, args.concurrency))
    finally:
        server.terminate()
        server.wait()
    bare_cpu = [cpu for _, cpu in bare]
    bare = [wall for wall, _ in bare]
    walls = [r["wall"] for r in runs]
    cpu = [r["cpu_ms"] for r in runs]
    print(f"{args.tasks} tasks at concurrency {args.concurrency}, scripted Ollama with instant "
          f"tokens, {args.repeat} repeats (median, min-max)")
    print(f"  bare HTTP loop     wall {statistics.median(bare):6.2f} s "
          f"({min(bare):.2f}-{max(bare):.2f})")
    print(f"  swarm (store)      wall {statistics.median(walls):6.2f} s "
          f"({min(walls):.2f}-{max(walls):.2f})   "
          f"{statistics.median(walls) / statistics.median(bare):.1f}x the bare loop")
    print(f"  CPU per task: coordinator {statistics.median(cpu):.2f} ms "
          f"({min(cpu):.2f}-{max(cpu):.2f}; target <= 2 ms), bare loop "
          f"{statistics.median(bare_cpu):.2f} ms")
    print(f"  targets: 1,000 tasks <= 5 s; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
