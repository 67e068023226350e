"""``hookrun run`` with 10,000 no-op call hooks on one event, end to end (target <= 2 s).

Side by side in the same run: ``hookrun run`` with one such hook (start-up, config and
records: the floor any size pays) and with 1,000 (the cost per hook should stay flat), and
a bare interpreter that imports the hook and calls it 10,000 times (the work itself). Each
case runs once to warm the config cache, then ``--runs`` times; medians are printed.

    .venv/bin/python bench/bench_many_hooks.py [--hooks 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

HOOKRUN = str(Path(sys.executable).with_name("hookrun"))
PAYLOAD = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "hi", "session_id": "b"})
NOOP = "def hook(payload):\n    return None\n"


def project_with(root: Path, hooks: int) -> Path:
    (root / ".claude").mkdir(parents=True)
    (root / "noop.py").write_text(NOOP)
    tables = (f'[[hooks]]\nname = "h{i}"\nevent = "UserPromptSubmit"\ncall = "noop:hook"\n'
              for i in range(hooks))
    (root / ".claude" / "hookrun.toml").write_text("[defaults]\ntimeout = 60\n" + "".join(tables))
    return root


def time_hookrun(project: Path) -> float:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project)}
    start = time.perf_counter()
    done = subprocess.run([HOOKRUN, "run", "UserPromptSubmit"], input=PAYLOAD.encode(),
                          capture_output=True, env=env, cwd=project, check=True)
    elapsed = time.perf_counter() - start
    assert done.stderr == b"", done.stderr.decode()
    return elapsed


def time_bare_calls(project: Path, hooks: int) -> float:
    code = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom noop import hook\n"
            f"for _ in range({hooks}):\n    hook(json.loads({PAYLOAD!r}))\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(project)], check=True)
    return time.perf_counter() - start


def median(measure: Callable[[], float], runs: int) -> float:
    measure()  # warm-up: fills the config cache, as every run after the first finds it
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hooks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        big = project_with(root / "big", args.hooks)
        tenth = project_with(root / "tenth", args.hooks // 10)
        one = project_with(root / "one", 1)
        rows = [
            (f"hookrun run, {args.hooks:,} no-op call hooks", median(lambda: time_hookrun(big),
                                                                    args.runs)),
            (f"hookrun run, {args.hooks // 10:,} no-op call hooks",
             median(lambda: time_hookrun(tenth), args.runs)),
            ("hookrun run, 1 no-op call hook", median(lambda: time_hookrun(one), args.runs)),
            (f"bare interpreter, {args.hooks:,} calls of the same function",
             median(lambda: time_bare_calls(big, args.hooks), args.runs)),
        ]
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:8.1f} ms  {seconds / rows[2][1]:6.1f}x one hook")
    per_hook = (rows[0][1] - rows[2][1]) / (args.hooks - 1) * 1e6
    per_hook_tenth = (rows[1][1] - rows[2][1]) / (args.hooks // 10 - 1) * 1e6
    print(f"per added hook: {per_hook:.0f} us at {args.hooks:,} hooks, {per_hook_tenth:.0f} us "
          f"at {args.hooks // 10:,}")
    print(f"target <= 2 s for {args.hooks:,} hooks: {'met' if rows[0][1] <= 2 else 'missed'}")


if __name__ == "__main__":
    main()
