"""The coordinator with real command workers: caps, timeouts, heartbeats, cleanup, lazy
context, evidence and ownership. Concurrency is proven from recorded starts and ends."""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from hookswarm.lib import process_scan
from hookswarm.lib.swarm.backend import Launch, ProcessWorker, WorkerEnd
from hookswarm.lib.swarm.command import CommandBackend
from hookswarm.lib.swarm.config import HealthSettings, SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.evidence import Status
from hookswarm.lib.swarm.recovery import recover
from hookswarm.lib.swarm.report import status_report
from hookswarm.lib.swarm.settle import TASK_ID_ENV
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.processes import gone, wait_until
from tests.helpers.swarm import Runner, coordinate, gated_task, recorded_peak, recording_task


@pytest.mark.parametrize("count", [3, 10, 50])
def test_the_cap_is_never_exceeded_and_every_task_gets_one_result(
        run_swarm: Runner, tmp_path: Path, count: int) -> None:
    rec = tmp_path / "record.txt"
    run = run_swarm([gated_task(rec, min(count, 5)) for _ in range(count)],
                    config=SwarmConfig(max_parallel=5))
    assert recorded_peak(rec) == min(count, 5)
    assert run.event_peak() == min(count, 5)
    assert sorted(run.results) == sorted(run.ids)
    assert len(list((run.store.root / "results").glob("*.json"))) == count
    assert {r["status"] for r in run.results.values()} == {"succeeded"}
    assert len(run.of("started")) == count
    report = status_report(run.store)
    assert (report["finished"], report["active"], report["queued"]) == (count, 0, 0)
    assert report["max_parallel"] == 5
    assert report["efficiency"] is not None
    assert 0 < report["efficiency"] <= 1.0


def test_a_backend_cap_holds_below_the_global_cap(run_swarm: Runner, tmp_path: Path) -> None:
    rec = tmp_path / "record.txt"
    run_swarm([gated_task(rec, 2) for _ in range(6)],
              config=SwarmConfig(max_parallel=5, caps={"command": 2}))
    assert recorded_peak(rec) == 2


TICKER = "while :; do echo tick; sleep 0.1; done"
SHORT = {"initial": 0.5, "extend": 0.5, "cap": 1.5, "silence_warn": 5, "silence_kill": 10}


def test_a_worker_that_keeps_printing_is_extended_up_to_the_cap(run_swarm: Runner) -> None:
    run = run_swarm([{"backend": "command", "argv": ["sh", "-c", TICKER], "timeouts": SHORT}])
    result = run.results[run.ids[0]]
    assert result["status"] == "timed_out"
    assert result["deadlines"] == [0.5, 1.0, 1.5]
    assert [e["deadline"] for e in run.of("extended")] == [1.0, 1.5]
    assert "hit the cap" in result["reason"]


def test_with_extend_0_a_printing_worker_simply_hits_its_deadline(run_swarm: Runner) -> None:
    run = run_swarm([{"backend": "command", "argv": ["sh", "-c", TICKER],
                      "timeouts": {**SHORT, "extend": 0}}])
    result = run.results[run.ids[0]]
    assert (result["status"], result["deadlines"]) == ("timed_out", [0.5])
    assert "extend = 0" in result["reason"]
    assert "printed nothing" not in result["reason"]
    assert run.of("extended") == []


def test_a_silent_worker_is_cut_at_its_initial_timeout(run_swarm: Runner) -> None:
    run = run_swarm([{"backend": "command", "argv": ["sleep", "30"], "timeouts": SHORT}])
    result = run.results[run.ids[0]]
    assert (result["status"], result["deadlines"]) == ("timed_out", [0.5])
    assert run.of("extended") == []


def test_silence_warns_then_kills_and_the_log_is_kept(run_swarm: Runner) -> None:
    limits = {"initial": 30, "silence_warn": 0.3, "silence_kill": 0.8}
    run = run_swarm([{"backend": "command", "argv": ["sh", "-c", "echo started-work; sleep 30"],
                      "timeouts": limits}])
    result = run.results[run.ids[0]]
    assert result["status"] == "killed_silent"
    assert result["warned"] is True
    assert len(run.of("warned")) == 1
    assert "no output" in result["reason"]
    assert Path(result["log"]).read_text() == "started-work\n"


GRANDCHILD = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('grandchild', flush=True); time.sleep(60)"])
print("pids", os.getpid(), child.pid, flush=True)
time.sleep(60)
"""


def test_a_stopped_worker_takes_its_sigterm_ignoring_grandchild_with_it(
        run_swarm: Runner) -> None:
    limits = {"initial": 30, "silence_warn": 30, "silence_kill": 1.0, "grace": 0.2}
    run = run_swarm([{"backend": "command", "argv": [sys.executable, "-c", GRANDCHILD],
                      "timeouts": limits}])
    result = run.results[run.ids[0]]
    log = Path(result["log"]).read_text()
    pids = [int(p) for p in log.split("pids", 1)[1].split()[:2]]
    assert "grandchild" in log
    assert result["status"] == "killed_silent"
    wait_until(lambda: all(gone(pid) for pid in pids), timeout=5)


def test_a_worker_that_exits_leaves_no_process_behind(run_swarm: Runner) -> None:
    leaver = "sleep 60 & echo $!"
    run = run_swarm([{"backend": "command", "argv": ["sh", "-c", leaver]}])
    orphan = int(Path(run.results[run.ids[0]]["log"]).read_text().split()[0])
    assert run.status() == "succeeded"
    wait_until(lambda: gone(orphan), timeout=5)


@pytest.mark.parametrize(("size", "inline"), [(500, True), (501, False)])
def test_lazy_context_inline_up_to_500_characters_then_a_private_file(
        run_swarm: Runner, size: int, inline: bool) -> None:
    context = "c" * (size - 3) + "END"
    run = run_swarm([{"backend": "command", "argv": ["cat"], "prompt": "do the thing",
                      "context": context}])
    seen = Path(run.results[run.ids[0]]["log"]).read_text()
    context_file = run.store.path("context", run.ids[0])
    assert seen.startswith("do the thing")
    assert (context in seen) is inline
    assert context_file.exists() is not inline
    if not inline:
        assert str(context_file.resolve()) in seen
        assert stat.S_IMODE(context_file.stat().st_mode) == 0o600
        assert context_file.read_text() == context


def test_evidence_decides_success(run_swarm: Runner, tmp_path: Path) -> None:
    (tmp_path / "stale.txt").write_text("old")
    run = run_swarm([
        {"id": "writes", "backend": "command", "argv": ["sh", "-c", "echo x > made.txt"],
         "expects": ["made.txt"]},
        {"id": "claims", "backend": "command", "argv": ["echo", "I wrote it"],
         "expects": ["never.txt"]},
        {"id": "empty", "backend": "command", "argv": ["touch", "empty.txt"],
         "expects": ["empty.txt"]},
        {"id": "stale", "backend": "command", "argv": ["true"], "expects": ["stale.txt"]},
        {"id": "crashes", "backend": "command", "argv": ["sh", "-c", "echo x > c.txt; exit 4"],
         "expects": ["c.txt"]},
        {"id": "missing", "backend": "command", "argv": ["/no/such/program"]},
    ])
    statuses = {i: r["status"] for i, r in run.results.items()}
    assert statuses == {"writes": "succeeded", "claims": "unverified", "empty": "unverified",
                        "stale": "unverified", "crashes": "failed", "missing": "failed"}
    assert "never.txt does not exist" in run.results["claims"]["reason"]
    assert "not written after" in run.results["stale"]["reason"]
    assert "No such file" in run.results["missing"]["reason"]
    assert all(r["log"].endswith(f"{i}.stream.txt") for i, r in run.results.items())


def test_tasks_owning_the_same_file_never_overlap_but_others_run_alongside(
        run_swarm: Runner, tmp_path: Path) -> None:
    rec = tmp_path / "record.txt"
    other = tmp_path / "other.txt"
    run_swarm([recording_task(rec, 0.3, owns=["shared.py"]),
               recording_task(rec, 0.3, owns=["./shared.py"]),
               recording_task(other, 0.6, owns=["elsewhere/**"]),
               recording_task(rec, 0.3, owns=["**/*.py"])],
              config=SwarmConfig(max_parallel=5))
    assert recorded_peak(rec) == 1
    lines = rec.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "end"] * 3
    assert "start" in other.read_text()


def test_one_folder_owned_through_a_symlink_or_a_trailing_slash_is_never_shared(
        run_swarm: Runner, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "src")
    rec = tmp_path / "record.txt"
    run_swarm([recording_task(rec, 0.3, owns=["link/**"]),
               recording_task(rec, 0.3, owns=["src/a.py"]),
               recording_task(rec, 0.3, owns=["src/"])],
              config=SwarmConfig(max_parallel=5))
    assert recorded_peak(rec) == 1


def test_a_down_backend_fails_fast_in_fail_mode(run_swarm: Runner, tmp_path: Path) -> None:
    config = SwarmConfig(health=HealthSettings(on_unhealthy="fail"),
                         claude={"bin": str(tmp_path / "no-claude")})  # type: ignore[arg-type]
    run = run_swarm([{"prompt": "hi", "id": "c1"}, {"prompt": "hi", "id": "c2"}], config=config,
                    environ={**os.environ, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    for result in run.results.values():
        assert result["status"] == "failed"
        assert "unavailable" in result["reason"]
        assert "no-claude" in result["reason"]
    assert run.of("started") == []


READS_ITS_CLAIM = """
import fcntl, json, os, sys
root = sys.argv[1]
lock = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(lock, fcntl.LOCK_EX)  # blocks forever if the worker inherited the lock
with open(os.path.join(root, "processing", os.environ["SWARM_TASK_ID"] + ".json")) as fh:
    claim = json.load(fh)
print(claim["owner"], claim["worker"]["pid"] == os.getpid())
"""


def test_workers_of_a_burst_find_their_claims_complete_once_the_lock_is_free(
        run_swarm: Runner, swarm_dir: Store) -> None:
    argv = [sys.executable, "-c", READS_ITS_CLAIM, str(swarm_dir.root)]
    run = run_swarm([{"backend": "command", "argv": argv} for _ in range(5)],
                    config=SwarmConfig(max_parallel=5))
    owners = {Path(r["log"]).read_text().split()[0] for r in run.results.values()}
    assert {r["status"] for r in run.results.values()} == {"succeeded"}
    assert len(owners) == 1
    assert owners.pop().startswith(f"{os.getpid()}-")
    assert all(Path(r["log"]).read_text().split()[1] == "True" for r in run.results.values())


DIES_WHILE_STARTING = """
import os, signal, sys
import anyio
from hookswarm.lib.swarm.command import CommandBackend
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.store import Store

class DiesOnSecondStart(CommandBackend):
    started = 0

    def start(self, launch):
        DiesOnSecondStart.started += 1
        if DiesOnSecondStart.started == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().start(launch)

coordinator = Coordinator(Store(sys.argv[1]), SwarmConfig(max_parallel=3),
                          backends={"command": DiesOnSecondStart()})
anyio.run(coordinator.run)
"""


def test_a_coordinator_killed_between_spawns_leaves_no_worker_and_loses_no_task(
        swarm_dir: Store, tmp_path: Path) -> None:
    prefix = f"crash-{secrets.token_hex(4)}"
    ids = swarm_dir.submit(build_tasks(
        [{"id": f"{prefix}-{i}", "backend": "command", "argv": ["sleep", "60"]} for i in range(3)],
        base=str(tmp_path)))
    died = subprocess.run([sys.executable, "-c", DIES_WHILE_STARTING, str(swarm_dir.root)],
                          capture_output=True, timeout=60)
    assert died.returncode == -signal.SIGKILL
    marked = f"{TASK_ID_ENV}={ids[0]}"  # started before the crash, its claim not yet written
    wait_until(lambda: len(process_scan.processes_with_env(marked)) == 1)
    orphans = process_scan.processes_with_env(marked)
    try:
        found = recover(swarm_dir, max_attempts=2)
        assert sorted(found.requeued) == ids[:2]  # claimed when reached: the third stayed queued
        wait_until(lambda: gone(orphans[0]), timeout=5)
        assert sorted(swarm_dir.pending()) == sorted(ids)
        assert swarm_dir.processing() == []
    finally:
        process_scan.kill_pids(orphans)


def test_a_task_the_coordinator_cannot_log_runs_without_its_log_and_says_so(
        run_swarm: Runner, swarm_dir: Store) -> None:
    (swarm_dir.root / "logs" / "unloggable.stream.txt").mkdir(parents=True)
    run = run_swarm([{"id": "unloggable", "backend": "command", "argv": ["echo", "hi"]},
                     {"id": "fine", "backend": "command", "argv": ["true"]}])
    assert run.results["fine"]["status"] == "succeeded"
    unlogged = run.results["unloggable"]
    assert unlogged["status"] == "succeeded"
    assert unlogged["output_bytes"] == 3
    assert "unloggable.stream.txt could not be written (Is a directory)" in unlogged["notes"][0]


def waits_for(flag: Path) -> list[str]:
    return ["sh", "-c", f'echo waiting; while [ ! -e "{flag}" ]; do sleep 0.01; done']


def test_a_run_keeps_its_results_when_clean_runs_meanwhile(swarm_dir: Store,
                                                            tmp_path: Path) -> None:
    flag = tmp_path / "go"
    removed: list[list[str] | None] = []

    def clean_when_fast_ends(event: dict[str, Any], _: Coordinator) -> None:
        if (event["kind"], event["id"]) == ("ended", "fast"):
            removed.append(Store(swarm_dir.root).clean(older_than=0))
            flag.touch()

    coordinate(swarm_dir, [
        {"id": "old", "backend": "command", "argv": ["true"]},
    ], tmp_path)
    coordinator, _, _ = coordinate(swarm_dir, [
        {"id": "fast", "backend": "command", "argv": ["true"]},
        {"id": "slow", "backend": "command", "argv": waits_for(flag)},
    ], tmp_path, on_event=clean_when_fast_ends)
    assert removed == [["old"]]
    assert {i: (swarm_dir.result(i) or {}).get("status") for i in ("fast", "slow")} == {
        "fast": "succeeded", "slow": "succeeded"}
    assert swarm_dir.log_path("fast").exists()
    assert sorted(coordinator.results) == ["fast", "slow"]


def test_a_run_ends_when_a_result_or_request_it_waits_for_vanishes(swarm_dir: Store,
                                                                  tmp_path: Path) -> None:
    def remove_files(event: dict[str, Any], _: Coordinator) -> None:
        if (event["kind"], event["id"]) == ("ended", "done"):
            swarm_dir.path("results", "done").unlink()
            swarm_dir.path("requests", "never").unlink()

    coordinator, events, _ = coordinate(swarm_dir, [
        {"id": "done", "backend": "command", "argv": ["true"]},
        {"id": "never", "backend": "command", "argv": ["true"], "owns": ["x"]},
        {"id": "after", "backend": "command", "argv": ["true"], "owns": ["x"]},
    ], tmp_path, config=SwarmConfig(max_parallel=1), on_event=remove_files)
    assert coordinator.results["done"].status is Status.SUCCEEDED
    vanished = [e["id"] for e in events if e["kind"] == "ended" and e["status"] == "vanished"]
    assert vanished == ["never"]
    assert (swarm_dir.result("after") or {}).get("status") == "succeeded"


class RaisesForOneTask(CommandBackend):
    def start(self, launch: Launch) -> ProcessWorker | WorkerEnd:
        if launch.task.id == "bad":
            raise RuntimeError("cannot build this worker")
        return super().start(launch)


def test_a_task_whose_worker_cannot_be_built_fails_alone(swarm_dir: Store,
                                                         tmp_path: Path) -> None:
    coordinate(swarm_dir, [{"id": "bad", "backend": "command", "argv": ["true"]},
                           {"id": "fine", "backend": "command", "argv": ["true"]}],
               tmp_path, backends={"command": RaisesForOneTask()})
    bad = swarm_dir.result("bad") or {}
    assert (bad.get("status"), (swarm_dir.result("fine") or {}).get("status")) == (
        "failed", "succeeded")
    assert "RuntimeError: cannot build this worker" in bad["reason"]


def test_an_environment_popen_refuses_is_a_failed_launch(swarm_dir: Store,
                                                        tmp_path: Path) -> None:
    coordinate(swarm_dir, [{"id": "env", "backend": "command", "argv": ["true"]}], tmp_path,
               environ={**os.environ, "A=B": "1"})
    result = swarm_dir.result("env") or {}
    assert result.get("status") == "failed"
    assert "could not start the worker" in result["reason"]
    assert "environment variable" in result["reason"]


def test_serve_rejects_a_request_it_cannot_read_and_runs_the_others(swarm_dir: Store,
                                                                    tmp_path: Path) -> None:
    swarm_dir.path("requests", "g").write_text("{x")
    swarm_dir.path("requests", "h").write_text(
        json.dumps({"task": {"id": "h", "backend": "command", "argv": ["true"], "no": 1},
                    "submitted_at": 0}))
    _, events, _ = coordinate(swarm_dir, [{"id": "fine", "backend": "command", "argv": ["true"]}],
                              tmp_path, only=False)
    ended = {e["id"]: e for e in events if e["kind"] == "ended"}
    assert ended["fine"]["status"] == "succeeded"
    assert (ended["g"]["status"], ended["h"]["status"]) == ("failed", "failed")
    assert str(swarm_dir.path("requests", "g")) in ended["g"]["reason"]
    assert "task key 'no'" in ended["h"]["reason"]
    assert len(list((swarm_dir.root / "rejected").iterdir())) == 2
    assert swarm_dir.pending() == []


def test_a_run_survives_a_claim_file_it_cannot_read(swarm_dir: Store, tmp_path: Path) -> None:
    swarm_dir.path("processing", "p").write_text("{x")
    _, events, _ = coordinate(swarm_dir, [{"id": "a", "backend": "command", "argv": ["true"]}],
                              tmp_path)
    assert (swarm_dir.result("a") or {}).get("status") == "succeeded"
    assert [e["id"] for e in events if e["kind"] == "ended"] == ["p", "a"]
    assert swarm_dir.processing() == []


HOLDS_A_CLAIM = """
import sys
from hookswarm.lib.swarm.lease import Lease
from hookswarm.lib.swarm.store import Store
store = Store(sys.argv[1])
held = Lease.acquire(store.root)
store.claim(["t1"], owner=held.owner)
print("claimed", flush=True)
sys.stdin.read()  # dies (without releasing its lease) when the test closes stdin
"""


@pytest.mark.timeout(60)
def test_a_run_recovers_the_claims_of_a_coordinator_that_dies_while_it_waits(
        swarm_dir: Store, tmp_path: Path) -> None:
    ids = swarm_dir.submit(build_tasks([{"id": "t1", "backend": "command", "argv": ["true"]}],
                                       base=str(tmp_path)))
    holder = subprocess.Popen([sys.executable, "-c", HOLDS_A_CLAIM, str(swarm_dir.root)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "claimed\n"
    before = swarm_dir.state().get("session")

    def kill_holder_once_the_run_works() -> None:
        wait_until(lambda: swarm_dir.state().get("session") != before, timeout=30)
        holder.kill()

    events: list[dict[str, Any]] = []
    killer = threading.Thread(target=kill_holder_once_the_run_works)
    killer.start()
    try:
        coordinator = Coordinator(swarm_dir, SwarmConfig(), on_event=events.append)
        anyio.run(lambda: coordinator.run(only=ids))
    finally:
        killer.join()
        holder.kill()
        holder.wait()
    assert [e["requeued"] for e in events if e["kind"] == "recovered"] == [["t1"]]
    assert (swarm_dir.result("t1") or {}).get("status") == "succeeded"


@pytest.mark.parametrize("only", [True, False], ids=["run", "serve"])
def test_a_cancel_fails_the_tasks_of_a_run_but_requeues_those_of_serve(
        swarm_dir: Store, tmp_path: Path, only: bool) -> None:
    ids = swarm_dir.submit(build_tasks(
        [{"id": f"c{i}", "backend": "command", "argv": ["sleep", "60"],
          "timeouts": {"grace": 0.2}} for i in range(2)], base=str(tmp_path)))
    pids: list[int] = []

    async def main() -> None:
        async with anyio.create_task_group() as group:
            def cancel_once_started(event: dict[str, Any]) -> None:
                if event["kind"] == "started":
                    pids.append(event["pid"])
                    group.cancel_scope.cancel()

            coordinator = Coordinator(swarm_dir, SwarmConfig(max_parallel=1),
                                      on_event=cancel_once_started)
            await coordinator.run(only=ids if only else None)

    anyio.run(main)
    wait_until(lambda: gone(pids[0]), timeout=5)
    assert swarm_dir.processing() == []
    if only:
        results = {i: swarm_dir.result(i) or {} for i in ids}
        assert {r.get("status") for r in results.values()} == {"failed"}
        assert all(r["reason"].startswith("cancelled: the coordinator was stopped")
                   for r in results.values())
        assert swarm_dir.pending() == []
    else:
        assert sorted(swarm_dir.pending()) == ids
        assert all(swarm_dir.result(i) is None for i in ids)


def test_logs_are_private_like_the_context(run_swarm: Runner) -> None:
    run = run_swarm([{"backend": "command", "argv": ["echo", "secret"]}])
    assert stat.S_IMODE(Path(run.results[run.ids[0]]["log"]).stat().st_mode) == 0o600
    assert stat.S_IMODE(run.store.path("results", run.ids[0]).stat().st_mode) == 0o600


class EndsAtOnce(CommandBackend):
    """A worker that ends at launch with ``end``, as a backend reports it."""

    def __init__(self, end: WorkerEnd) -> None:
        self._end = end

    def start(self, launch: Launch) -> WorkerEnd:
        return self._end


def test_the_result_records_the_workers_model_and_names_denied_tool_calls(
        run_swarm: Runner) -> None:
    end = WorkerEnd(clean=True, reason="", exit_code=0, model="sonnet", denials=1)
    run = run_swarm([{"backend": "command", "argv": ["true"]}],
                    backends={"command": EndsAtOnce(end)})
    result = run.results[run.ids[0]]
    assert (result["status"], result["model"]) == ("succeeded", "sonnet")
    assert result["reason"] == "ended cleanly; 1 tool call denied (see the log)"


def test_the_task_model_is_recorded_when_the_worker_names_none(run_swarm: Runner) -> None:
    run = run_swarm([{"backend": "command", "argv": ["true"], "model": "m1"}])
    assert run.results[run.ids[0]]["model"] == "m1"
