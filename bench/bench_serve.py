"""hookrun serve against native command hooks, side by side in one run.

  claude -p    ``claude -p`` sessions, alternating: 21 Python script command hooks (typical
               imports, 50 ms of work each) on UserPromptSubmit configured natively, and the
               same 21 hooks in hookrun.toml behind ``hookrun install --serve`` (warm
               scripts). Native: the hook phase from the first hook process's creation to the
               last hook's end (the hooks stamp both). Served: hookrun's own time for the event
               from its run record (receiving the payload to the merged answer, so it counts
               more than the native figure does), beside the same stamps.
  no-hook      one event without a matching hook, POSTed to ``hookrun serve`` on a kept-alive
               connection, beside a bare server that answers ``{}`` the same way (the floor)
  21 calls     one event with 21 in-process call hooks of 50 ms each, POSTed the same way
               (the floor is the hooks' own 50 ms)

    .venv/bin/python bench/bench_serve.py [--runs 50] [--cli-runs 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.messages_api import MessagesAPI  # noqa: E402
from tests.helpers.claude_cli import command_hook, run_claude, write_settings  # noqa: E402

HOOKS = 21
WORK_SECONDS = 0.05
HOOKRUN = str(Path(sys.executable).with_name("hookrun"))
IMPORTS = ("import json, subprocess, pathlib, re, datetime, logging, dataclasses, typing, "
           "shlex, argparse, tempfile")
# The hook stamps its own creation (fork or exec) and end times, in epoch seconds.
SCRIPT = f"""
import json, os, sys, time
{IMPORTS}
payload = json.load(sys.stdin)
time.sleep({WORK_SECONDS})
ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
end = time.time()
age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
with open(sys.argv[2], "a") as out:
    out.write(f"{{end - age}} {{end}}\\n")
print(json.dumps({{"hookSpecificOutput": {{"hookEventName": "UserPromptSubmit",
                                           "additionalContext": "ctx"}}}}))
"""
CALL_MODULE = f"""
import time

def work(payload):
    time.sleep({WORK_SECONDS})
    return "ctx"
"""
TOKEN = "bench-token"


def script_hooks(root: Path) -> list[str]:
    (root / ".claude").mkdir(parents=True, exist_ok=True)
    (root / "hook_cmd.py").write_text(SCRIPT)
    # Distinct strings: Claude Code de-duplicates identical commands.
    return [f"{sys.executable} hook_cmd.py h{i:02d} {root / 'stamps.txt'}" for i in range(HOOKS)]


def stamped_phase(root: Path) -> float:
    pairs = [tuple(map(float, line.split()))
             for line in (root / "stamps.txt").read_text().splitlines() if line]
    if len(pairs) != HOOKS:
        raise SystemExit(f"expected {HOOKS} hooks to run, saw {len(pairs)}")
    return max(end for _, end in pairs) - min(start for start, _ in pairs)


def recorded_total(root: Path) -> float:
    records = (root / ".swarm" / "hooks" / "runs.jsonl").read_text().splitlines()
    last = next(json.loads(r) for r in reversed(records)
                if json.loads(r)["event"] == "UserPromptSubmit")
    return float(last["total_ms"]) / 1000


def time_claude(root: Path, runs: int) -> dict[str, list[float]]:
    commands = script_hooks(root)
    native = {"UserPromptSubmit": [
        command_hook("UserPromptSubmit", c)["hooks"]["UserPromptSubmit"][0] for c in commands]}
    (root / ".claude" / "hookrun.toml").write_text("".join(
        f'[[hooks]]\nname = "h{i:02d}"\nevent = "UserPromptSubmit"\ncommand = "{c}"\n'
        for i, c in enumerate(commands)))
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(root)}
    subprocess.run([HOOKRUN, "install", "--serve"], cwd=root, env=env, check=True,
                   capture_output=True)
    served = json.loads((root / ".claude" / "settings.json").read_text())
    variants = {"native": {"hooks": native}, "serve": served}
    samples: dict[str, list[float]] = {"native": [], "serve": [], "serve (stamps)": []}
    try:
        with MessagesAPI() as api:
            for _ in range(2):  # warm-up: start the server and its zygote
                write_settings(root, variants["serve"])
                run_claude(root, "bench", api=api)
            for _ in range(runs):
                for name, settings in variants.items():
                    write_settings(root, settings)
                    (root / "stamps.txt").unlink(missing_ok=True)
                    _session(root, api, name)
                    samples[name].append(stamped_phase(root) if name == "native"
                                         else recorded_total(root))
                    if name == "serve":
                        samples["serve (stamps)"].append(stamped_phase(root))
    finally:
        subprocess.run([HOOKRUN, "serve", "--stop"], cwd=root, env=env, capture_output=True)
    return samples


def _session(root: Path, api: MessagesAPI, name: str) -> None:
    run = run_claude(root, "bench", api=api, timeout=60)
    if run.exit_code != 0:
        raise SystemExit(f"claude failed ({name}): {run.describe()}")


class _Bare(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 2\r\n\r\n{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(root), "HOOKRUN_TOKEN": TOKEN}
    proc = subprocess.Popen([HOOKRUN, "serve", "--port", str(port), "--idle", "600"],
                            cwd=root, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready PORT"
    return proc, port


def time_posts(port: int, event: str, root: Path, runs: int) -> list[float]:
    body = json.dumps({"hook_event_name": event, "session_id": "bench", "cwd": str(root),
                       "prompt": "bench", "notification_type": "idle"}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(runs + 3):
        start = time.perf_counter()
        connection.request("POST", f"/hookrun-install/{event}", body=body,
                           headers={"Authorization": f"Bearer {TOKEN}"})
        connection.getresponse().read()
        samples.append(time.perf_counter() - start)
    connection.close()
    return samples[3:]


def time_serve(root: Path, runs: int) -> dict[str, list[float]]:
    (root / ".claude").mkdir(parents=True, exist_ok=True)
    (root / "benchwork.py").write_text(CALL_MODULE)
    (root / ".claude" / "hookrun.toml").write_text("".join(
        f'[[hooks]]\nname = "h{i:02d}"\nevent = "UserPromptSubmit"\ncall = "benchwork:work"\n'
        for i in range(HOOKS)))
    bare = ThreadingHTTPServer(("127.0.0.1", 0), _Bare)
    threading.Thread(target=bare.serve_forever, daemon=True).start()
    proc, port = start_server(root)
    try:
        return {
            "bare server answering {} (floor)": time_posts(bare.server_address[1], "Notification",
                                                           root, runs),
            "hookrun serve, no matching hook": time_posts(port, "Notification", root, runs),
            "hookrun serve, 21 call hooks of 50 ms": time_posts(port, "UserPromptSubmit", root,
                                                                runs),
        }
    finally:
        proc.terminate()
        proc.wait()
        bare.shutdown()


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cli-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        posts = time_serve(Path(tmp) / "calls", args.runs)
        whole = time_claude(Path(tmp) / "scripts", args.cli_runs)
    native, served = ms(whole["native"]), ms(whole["serve"])
    print(f"{'case':44} {'median ms':>10}  runs")
    for name, samples in posts.items():
        print(f"{name:44} {ms(samples):10.2f}  {len(samples)}")
    labels = {"native": "claude -p, 21 native script hooks (stamps)",
              "serve": "claude -p, install --serve (hookrun record)",
              "serve (stamps)": "claude -p, install --serve (stamps)"}
    for name, label in labels.items():
        print(f"{label:44} {ms(whole[name]):10.1f}  {len(whole[name])}")
    print()
    print(f"per prompt: the 21 native script hooks take {native:.0f} ms, install --serve with "
          f"warm scripts {served:.0f} ms: {served / native:.2f}x native "
          f"(target <= 0.25x -> {'PASS' if served <= 0.25 * native else 'FAIL'}; the floor is "
          f"the hooks' own {WORK_SECONDS * 1000:.0f} ms = {WORK_SECONDS * 1000 / native:.2f}x)")
    idle = ms(posts["hookrun serve, no matching hook"])
    floor = ms(posts["bare server answering {} (floor)"])
    print(f"no matching hook: {idle:.2f} ms per event (a bare server: {floor:.2f} ms; target "
          f"<= 5 ms -> {'PASS' if idle <= 5 else 'FAIL'})")
    calls = ms(posts["hookrun serve, 21 call hooks of 50 ms"])
    print(f"21 call hooks: {calls:.1f} ms per event end to end (target <= 60 ms -> "
          f"{'PASS' if calls <= 60 else 'FAIL'}; floor {WORK_SECONDS * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
