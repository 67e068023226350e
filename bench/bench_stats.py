"""``hookrun stats`` over 100,000 synthetic run records, end to end (target <= 1 s).

Side by side in the same run: the bare cost of reading the same file with the standard
library's json module and doing nothing with it, the floor any summary has to beat.

    .venv/bin/python bench/bench_stats.py [--records 100000] [--hooks 3] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOOKRUN = str(Path(sys.executable).with_name("hookrun"))
STATUSES = ["ok"] * 95 + ["error", "timeout", "blocked", "cancelled", "garbled"]


def write_records(path: Path, count: int, hooks: int) -> None:
    rng = random.Random(7)
    now = time.time()
    path.parent.mkdir(parents=True)
    with path.open("w") as out:
        for n in range(count):
            spans = [(round(rng.uniform(0, 5), 2), round(rng.uniform(5, 400), 2))
                     for _ in range(hooks)]
            record = {"v": 1, "ts": now - (count - n), "event": "UserPromptSubmit",
                      "tool": None, "session_id": f"s{n % 50}", "outcome": "ok",
                      "total_ms": max(end for _, end in spans), "hooks": [
                          {"name": f"hook-{i}", "index": i, "start_ms": start, "end_ms": end,
                           "status": rng.choice(STATUSES), "exit_code": 0, "stdout_bytes": 120,
                           "stderr_bytes": 0, "timeout": 0.45, "context_bytes": 120,
                           "context_cut": False}
                          for i, (start, end) in enumerate(spans)]}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def time_stats(project: Path) -> float:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project)}
    start = time.perf_counter()
    done = subprocess.run([HOOKRUN, "stats", "--json"], capture_output=True, env=env,
                          check=True)
    elapsed = time.perf_counter() - start
    assert json.loads(done.stdout)["hooks"], "stats summarized nothing"
    return elapsed


def time_json_floor(path: Path) -> float:
    code = ("import json, sys\n"
            "for line in open(sys.argv[1], 'rb'):\n"
            "    json.loads(line)\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--hooks", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        path = project / ".swarm" / "hooks" / "runs.jsonl"
        write_records(path, args.records, args.hooks)
        size = path.stat().st_size / (1 << 20)
        pairs = [(time_stats(project), time_json_floor(path)) for _ in range(args.runs)]
        ours = statistics.median(mine for mine, _ in pairs)  # interleaved: the same load
        floor = statistics.median(bare for _, bare in pairs)
    print(f"{args.records} records x {args.hooks} hooks ({size:.1f} MiB), median of {args.runs}")
    print(f"hookrun stats --json         {ours * 1000:8.1f} ms")
    print(f"stdlib json parse only       {floor * 1000:8.1f} ms  "
          f"(hookrun stats is {floor / ours:.2f}x of this floor's speed)")
    print(f"target <= 1000 ms: {'PASS' if ours <= 1.0 else 'FAIL'}")


if __name__ == "__main__":
    main()
