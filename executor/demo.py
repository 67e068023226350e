"""``hookrun demo``: 21 example hooks run three ways, with timelines and speedups.

1. one process per hook, one after another (a naive hook runner);
2. one process per hook, all at once (what Claude Code does);
3. one ``hookrun run`` process running all 21 as in-process ``call`` hooks.

Needs neither Claude Code nor a network: the payload is a UserPromptSubmit like Claude Code's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from typing import TYPE_CHECKING, NamedTuple

from hookswarm.executor import records
from hookswarm.executor.demo_hooks import HOOKS
from hookswarm.executor.timeline import Bar, text
from hookswarm.lib import process

if TYPE_CHECKING:
    from collections.abc import Sequence

HOOK_MODULE = "hookswarm.executor.demo_hooks"
HOOKRUN = [sys.executable, "-c", "from hookswarm.executor.cli import main; main()", "run"]


class Timeline(NamedTuple):
    label: str
    wall: float
    bars: list[Bar]


def run_demo(project: str | None = None, *, width: int = 56) -> str:
    """Run the three variants in ``project`` (a scratch project when None); the report."""
    with tempfile.TemporaryDirectory(prefix="hookrun-demo-") as scratch:
        root = os.path.abspath(project) if project else _scratch_project(scratch)
        payload = json.dumps({"hook_event_name": "UserPromptSubmit", "session_id": "demo",
                              "cwd": root, "prompt": "add a --verbose flag to the CLI"}).encode()
        config = _write_config(scratch)
        variants = [_sequential(payload, root), _parallel(payload, root),
                    _hookrun(payload, root, config, records_in=scratch)]
    return report(variants, width=width)


def report(variants: Sequence[Timeline], *, width: int) -> str:
    base = variants[0].wall
    parts = []
    for variant in variants:
        title = (f"== {variant.label}: {variant.wall * 1000:.0f} ms "
                 f"({base / variant.wall:.1f}x vs sequential)")
        parts.append(text(variant.bars, width=width, title=title))
    names = ", ".join(f"{v.label} {v.wall * 1000:.0f} ms" for v in variants)
    ours, native = variants[-1].wall, variants[-2].wall
    parts.append(f"summary: {names}; hookrun is {native / ours:.1f}x faster than one process "
                 f"per hook run in parallel and {base / ours:.1f}x faster than sequential")
    return "\n\n".join(parts) + "\n"


def _scratch_project(scratch: str) -> str:
    root = os.path.join(scratch, "project")
    os.makedirs(os.path.join(root, "src"))
    files = {"pyproject.toml": "[project]\nname = 'demo'\n", "README.md": "# demo\n",
             "CLAUDE.md": "Run the tests before you commit.\n",
             "src/app.py": "def main():\n    pass  # TODO: add flags\n"}
    for name, body in files.items():
        with open(os.path.join(root, name), "w", encoding="utf-8") as handle:
            handle.write(body)
    return root


def _write_config(scratch: str) -> str:
    path = os.path.join(scratch, "hookrun.toml")
    with open(path, "w", encoding="utf-8") as handle:
        for name in HOOKS:
            handle.write(f'[[hooks]]\nname = "{name}"\nevent = "UserPromptSubmit"\n'
                         f'call = "{HOOK_MODULE}:{name}"\n\n')
    return path


def _one(argv: list[str], payload: bytes, cwd: str,
         env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run one process to its end: when it ended, and ``ok`` or ``error`` by its exit status."""
    child = process.start(argv, cwd=cwd, env=env)
    if isinstance(child, process.ProcessOutcome):
        raise RuntimeError(f"cannot start {argv[0]}: {child.launch_error}")
    outcome = child.communicate(payload, timeout=60, max_output=1 << 20)
    return time.perf_counter(), "ok" if outcome.exit_code == 0 else "error"


def _hook_argv(name: str) -> list[str]:
    return [sys.executable, "-m", HOOK_MODULE, name]


def _sequential(payload: bytes, root: str) -> Timeline:
    start = time.perf_counter()
    bars = []
    for name in HOOKS:
        begin = time.perf_counter() - start
        end, status = _one(_hook_argv(name), payload, root)
        bars.append(Bar(name, begin, end - start, status))
    return Timeline("sequential processes", time.perf_counter() - start, bars)


def _parallel(payload: bytes, root: str) -> Timeline:
    start = time.perf_counter()
    ends: dict[str, tuple[float, str]] = {}

    def run(name: str) -> None:
        ends[name] = _one(_hook_argv(name), payload, root)

    threads = [threading.Thread(target=run, args=(name,)) for name in HOOKS]
    begins = {}
    for name, thread in zip(HOOKS, threads, strict=True):
        begins[name] = time.perf_counter() - start
        thread.start()
    for thread in threads:
        thread.join()
    bars = [Bar(name, begins[name], ends[name][0] - start, ends[name][1]) for name in HOOKS]
    return Timeline("parallel processes (Claude Code)", time.perf_counter() - start, bars)


def _hookrun(payload: bytes, root: str, config: str, *, records_in: str) -> Timeline:
    """``hookrun run`` in ``root``; its run record goes to ``records_in``, not the project.

    The demo hooks inspect the payload's ``cwd``, so only hookrun's own project directory
    (where it keeps records and its config cache) moves to the scratch folder.
    """
    env = {**os.environ, "CLAUDE_PROJECT_DIR": records_in, "HOOKRUN_CONFIG": config}
    start = time.perf_counter()
    end, _ = _one(HOOKRUN, payload, root, env)
    wall = end - start
    written = list(records.read(records.records_dir(records_in)))
    if not written:
        raise RuntimeError(f"hookrun wrote no run record under {records_in}; run `hookrun run` "
                           "by hand with the demo's payload to see why")
    record = written[-1]
    startup = max(0.0, wall - record["total_ms"] / 1000) + record["setup_ms"] / 1000
    bars = [Bar("(start-up)", 0.0, startup, "ok")] + [
        Bar(h["name"], startup + h["start_ms"] / 1000, startup + h["end_ms"] / 1000, h["status"])
        for h in record["hooks"]]
    return Timeline("hookrun", wall, bars)
