"""The .swarm/ store: durable queue, atomic claims, exactly-once results, retention, recovery."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib import process_scan
from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.errors import StoreError
from hookswarm.lib.swarm.evidence import Status
from hookswarm.lib.swarm.recovery import recover
from hookswarm.lib.swarm.report import status_report
from hookswarm.lib.swarm.store import DamagedFile, Envelope, Store
from hookswarm.lib.swarm.task import Task, build_tasks
from tests.helpers.processes import wait_until

if TYPE_CHECKING:
    from pathlib import Path


def tasks(n: int) -> list[Task]:
    return build_tasks([{"backend": "command", "argv": ["true"], "id": f"t{i}"} for i in range(n)])


@pytest.fixture
def swarm_dir(tmp_path: Path) -> Store:
    """An empty store at tmp_path/.swarm."""
    return Store.for_project(tmp_path)


def test_submit_claim_finish_moves_each_task_through_exactly_one_folder(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(3))
    assert sorted(swarm_dir.pending()) == ["t0", "t1", "t2"]
    assert swarm_dir.state()["queued"] == 3
    [claimed] = swarm_dir.claim(["t1"], owner="me")
    assert (claimed.task.id, claimed.owner) == ("t1", "me")
    assert swarm_dir.claim(["t1"], owner="other") == []
    assert (swarm_dir.state()["queued"], swarm_dir.state()["active"]) == (2, 1)
    assert swarm_dir.finish("t1", {"id": "t1", "status": "succeeded"})
    assert not swarm_dir.finish("t1", {"id": "t1", "status": "failed"})
    assert (swarm_dir.result("t1") or {})["status"] == "succeeded"
    assert swarm_dir.processing() == []
    assert (swarm_dir.state()["active"], swarm_dir.state()["finished"]) == (0, 1)


def test_a_known_id_cannot_be_submitted_again_and_nothing_is_queued(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(1))
    with pytest.raises(StoreError, match="t0"):
        swarm_dir.submit(tasks(2))
    assert swarm_dir.pending() == ["t0"]


def test_two_processes_racing_to_finish_write_one_result(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(1))
    code = ("import sys; from hookswarm.lib.swarm.store import Store; "
            "print(Store(sys.argv[1]).finish('t0', {'id': 't0', 'by': sys.argv[2]}))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(swarm_dir.root), str(i)],
                              stdout=subprocess.PIPE, text=True) for i in range(4)]
    outputs = sorted(p.communicate(timeout=30)[0].strip() for p in procs)
    assert outputs == ["False", "False", "False", "True"]
    assert len(list((swarm_dir.root / "results").glob("*.json"))) == 1


def test_requeue_returns_a_claim_to_the_queue(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(1))
    swarm_dir.claim(["t0"], owner="me")
    swarm_dir.requeue("t0", attempt=1)
    envelope = swarm_dir.request("t0")
    assert envelope is not None
    assert (envelope.attempt, envelope.owner) == (1, "")
    assert swarm_dir.processing() == []


def test_context_files_are_private(swarm_dir: Store) -> None:
    path = swarm_dir.write_context("t0", "secret context")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "secret context"


def test_clean_applies_retention_and_skips_when_busy(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(2))
    for task_id in ("t0", "t1"):
        swarm_dir.claim([task_id], owner="me")
        swarm_dir.log_path(task_id).write_text("log")
        swarm_dir.finish(task_id, {"id": task_id})
    old = swarm_dir.path("results", "t0")
    os.utime(old, (old.stat().st_atime - 10 * 86400,) * 2)
    assert swarm_dir.clean(older_than=7 * 86400) == ["t0"]
    assert not swarm_dir.log_path("t0").exists()
    assert swarm_dir.log_path("t1").exists()
    with swarm_dir.lock():
        holder = subprocess.run(
            [sys.executable, "-c", "import sys; from hookswarm.lib.swarm.store import Store; "
             "print(Store(sys.argv[1]).clean(older_than=0))", str(swarm_dir.root)],
            capture_output=True, text=True, timeout=30, check=True)
    assert holder.stdout.strip() == "None"
    assert swarm_dir.result("t1") is not None


def test_a_claim_of_a_live_coordinator_is_left_alone(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(1))
    held = lease.Lease.acquire(swarm_dir.root)
    try:
        swarm_dir.claim(["t0"], owner=held.owner)
        assert recover(swarm_dir, max_attempts=2).requeued == ()
        assert swarm_dir.processing() == ["t0"]
    finally:
        held.release()


def test_claims_of_a_dead_coordinator_are_requeued_then_failed(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(2))
    swarm_dir.claim(["t0", "t1"], owner="dead-owner")
    swarm_dir.finish("t1", {"id": "t1", "status": "succeeded"})
    (swarm_dir.root / "processing" / "t1.json").write_text(
        json.dumps({"task": tasks(2)[1].model_dump(mode="json"), "submitted_at": 0,
                    "owner": "dead-owner"}))
    found = recover(swarm_dir, max_attempts=2)
    assert (found.requeued, found.closed) == (("t0",), ("t1",))
    swarm_dir.claim(["t0"], owner="dead-again")
    found = recover(swarm_dir, max_attempts=2)
    assert found.failed == ("t0",)
    result = swarm_dir.result("t0")
    assert result is not None
    assert result["status"] == "failed"
    assert "coordinator died" in result["reason"]


def test_a_request_this_store_submitted_is_not_read_again_while_unchanged(
        swarm_dir: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    [task] = tasks(1)
    swarm_dir.submit([task])
    with monkeypatch.context() as patched:
        patched.setattr(Envelope, "read", _not_read)
        envelope = swarm_dir.request("t0")
    assert envelope is not None
    assert envelope.task == task


@pytest.mark.parametrize("change", ["rewritten in place", "replaced"])
def test_a_submitted_request_that_changed_on_disk_is_read_again(
        swarm_dir: Store, change: str) -> None:
    swarm_dir.submit(tasks(1))
    path = swarm_dir.path("requests", "t0")
    data = json.loads(path.read_text())
    data["task"]["argv"] = ["echo", "edited"]
    if change == "rewritten in place":
        path.write_text(json.dumps(data))
    else:
        other = path.with_name("other.tmp")
        other.write_text(json.dumps(data, indent=1))
        os.replace(other, path)
    calls: list[Path] = []
    original = Envelope.read

    def counting(cls: type[Envelope], read_path: Path) -> Envelope:
        calls.append(read_path)
        return original(read_path)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(Envelope, "read", classmethod(counting))
        envelope = swarm_dir.request("t0")
    assert calls == [path]
    assert envelope is not None
    assert envelope.task.argv == ("echo", "edited")


def _not_read(path: Path) -> Envelope:
    raise AssertionError(f"{path} was read")


def test_recovery_does_not_kill_a_session_a_forged_claim_names(swarm_dir: Store) -> None:
    """A claim names its worker by pid; one that names a session its owner never started
    (a hand-made or forged claim) must not get that session killed."""
    victim = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        swarm_dir.submit(tasks(1))
        [claimed] = swarm_dir.claim(["t0"], owner="dead-owner")
        claimed.worker = {"pid": victim.pid,
                          "start_ticks": process_scan.start_ticks(victim.pid) or 0}
        swarm_dir.path("processing", "t0").write_text(json.dumps(claimed.to_json()))
        found = recover(swarm_dir, max_attempts=2)
        assert found.requeued == ("t0",)
        assert found.killed == 0
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_a_claim_is_written_with_its_owner_and_worker_when_the_block_ends(
        swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(2))
    with swarm_dir.claiming(["t0", "t1", "gone"], owner="me") as claiming:
        first = next(claiming)
        assert (first.task.id, swarm_dir.pending(), swarm_dir.processing()) == (
            "t0", ["t1"], ["t0"])  # each request moves when the caller reaches it
        assert [e.task.id for e in claiming] == ["t1"]
        assert swarm_dir.pending() == []
        assert sorted(swarm_dir.processing()) == ["t0", "t1"]
        assert Store(swarm_dir.root).clean(older_than=0) is None  # locked for the whole block
        first.worker = {"pid": 123, "start_ticks": 4}
    assert (swarm_dir.claimed("t0").owner, swarm_dir.claimed("t0").worker) == (
        "me", {"pid": 123, "start_ticks": 4})
    assert (swarm_dir.claimed("t1").owner, swarm_dir.claimed("t1").worker) == ("me", {})


def test_a_coordinator_that_died_inside_a_claim_block_loses_nothing(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(1))
    os.rename(swarm_dir.path("requests", "t0"), swarm_dir.path("processing", "t0"))
    dead = f"dead-{secrets.token_hex(4)}"
    (swarm_dir.root / "coordinators" / f"{dead}.lock").touch()
    marker = f"{lease.OWNER_ENV}={dead}"
    worker = subprocess.Popen(["sleep", "60"], env={lease.OWNER_ENV: dead, "PATH": "/usr/bin:/bin"},
                              start_new_session=True)
    try:
        wait_until(lambda: process_scan.processes_with_env(marker) == [worker.pid])  # exec done
        found = recover(swarm_dir, max_attempts=2)
        assert (found.requeued, found.killed) == (("t0",), 1)
        assert worker.wait(timeout=10) == -9
        assert not (swarm_dir.root / "coordinators" / f"{dead}.lock").exists()
    finally:
        worker.kill()
        worker.wait()


def test_only_leases_that_nobody_holds_count_as_dead(swarm_dir: Store) -> None:
    held = lease.Lease.acquire(swarm_dir.root)
    (swarm_dir.root / "coordinators" / "gone-1.lock").touch()
    try:
        assert lease.dead_owners(swarm_dir.root) == ["gone-1"]
        assert lease.dead_owners(swarm_dir.root) == []  # the dead one's file was removed
        assert [p.name for p in (swarm_dir.root / "coordinators").iterdir()] == [
            f"{held.owner}.lock"]
    finally:
        held.release()


def finished(store: Store, n: int) -> None:
    store.submit(tasks(n))
    for i in range(n):
        store.claim([f"t{i}"], owner="me")
        store.log_path(f"t{i}").write_text("log")
        store.finish(f"t{i}", {"id": f"t{i}", "status": "succeeded"})


def test_clean_keeps_the_tasks_a_live_coordinator_waits_for(swarm_dir: Store) -> None:
    finished(swarm_dir, 2)
    held = lease.Lease.acquire(swarm_dir.root, holds=["t0"])
    try:
        assert lease.live_holds(swarm_dir.root) == {"t0"}
        assert swarm_dir.clean(older_than=0) == ["t1"]
        assert swarm_dir.result("t0") is not None
        assert swarm_dir.log_path("t0").exists()
    finally:
        held.release()
    assert swarm_dir.clean(older_than=0) == ["t0"]


def test_clean_leaves_young_temporary_files_to_their_writers(swarm_dir: Store) -> None:
    young = swarm_dir.root / "results" / ".t0.1234.tmp"
    old = swarm_dir.root / "results" / ".t1.5678.tmp"
    for path in (young, old):
        path.write_text("{}")
    os.utime(old, (old.stat().st_atime - 7200,) * 2)
    assert swarm_dir.clean(older_than=0) == []
    assert young.exists()
    assert not old.exists()


def test_finish_writes_again_when_its_temporary_file_vanishes(
        swarm_dir: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = os.link
    calls = []

    def link_after_a_cleanup(src: str, dst: str) -> None:
        calls.append(src)
        if len(calls) == 1:
            os.unlink(src)  # what a cleanup racing the writer would do
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_a_cleanup)
    assert swarm_dir.finish("t0", {"id": "t0", "status": "succeeded"})
    assert len(calls) == 2
    assert (swarm_dir.result("t0") or {})["status"] == "succeeded"
    assert not list((swarm_dir.root / "results").glob(".*.tmp"))


def test_a_batch_of_results_waits_for_the_disk_once_and_stays_durable(
        swarm_dir: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every result is flushed before its name appears, and the names are flushed once."""
    swarm_dir.submit(tasks(4))
    swarm_dir.claim(["t0", "t1", "t2", "t3"], owner="me")
    assert swarm_dir.finish("t3", {"id": "t3", "status": "failed"})
    steps: list[tuple[str, str]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        steps.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def link(src: str, dst: str) -> None:
        steps.append(("link", os.path.basename(dst)))
        real_link(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    done = swarm_dir.finish_all({f"t{i}": {"id": f"t{i}", "status": "succeeded"}
                                 for i in range(4)}, update_state=False)
    assert done == {"t0": True, "t1": True, "t2": True, "t3": False}
    flushed = [name for kind, name in steps if kind == "fsync"]
    assert [name.split(".")[1] for name in flushed[:4]] == ["t0", "t1", "t2", "t3"]
    assert all(name.endswith(".tmp") for name in flushed[:4])
    assert [kind for kind, _ in steps[4:]] == ["link"] * 4 + ["fsync"]
    assert steps[-1] == ("fsync", "results")
    assert swarm_dir.processing() == []
    assert (swarm_dir.result("t3") or {})["status"] == "failed"
    assert not list((swarm_dir.root / "results").glob(".*.tmp"))


def test_a_batch_whose_results_cannot_be_written_fails_each_task_with_the_fix(
        swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(2))
    swarm_dir.claim(["t0", "t1"], owner="me")
    (swarm_dir.root / "results").rename(swarm_dir.root / "results.away")
    (swarm_dir.root / "results").write_text("not a folder")
    done = swarm_dir.finish_all({"t0": {"id": "t0"}, "t1": {"id": "t1"}})
    assert set(done) == {"t0", "t1"}
    for outcome in done.values():
        assert isinstance(outcome, StoreError)
        assert "fix that folder" in str(outcome)
    assert sorted(swarm_dir.processing()) == ["t0", "t1"]


def test_a_claim_is_dropped_only_once_its_result_is_durable(
        swarm_dir: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed flush of results/ leaves every claim of the batch: no task's work is lost."""
    swarm_dir.submit(tasks(3))
    swarm_dir.claim(["t0", "t1", "t2"], owner="me")
    real_fsync = os.fsync
    claims_at_flush: list[list[str]] = []

    def failing_directory_flush(fd: int) -> None:
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")) == "results":
            claims_at_flush.append(swarm_dir.processing())
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_directory_flush)
    done = swarm_dir.finish_all({f"t{i}": {"id": f"t{i}", "status": "succeeded"}
                                 for i in range(3)}, update_state=False)
    assert claims_at_flush == [["t0", "t1", "t2"]]
    for outcome in done.values():
        assert isinstance(outcome, StoreError)
        assert "Input/output error" in str(outcome)
    assert sorted(swarm_dir.processing()) == ["t0", "t1", "t2"]
    monkeypatch.setattr(os, "fsync", real_fsync)
    found = recover(swarm_dir, max_attempts=2)
    assert sorted(found.closed) == ["t0", "t1", "t2"]  # their results did reach results/
    assert swarm_dir.processing() == []


def test_requests_claims_and_results_are_private(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(2))
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(swarm_dir.path("requests", "t0")) == 0o600
    swarm_dir.claim(["t0", "t1"], owner="me")
    assert mode(swarm_dir.path("processing", "t0")) == 0o600
    swarm_dir.requeue("t1", attempt=1)
    assert mode(swarm_dir.path("requests", "t1")) == 0o600
    swarm_dir.finish("t0", {"id": "t0", "status": "succeeded"})
    assert mode(swarm_dir.path("results", "t0")) == 0o600


BAD_ENVELOPES = {
    "not json": ("{x", "not JSON"),
    "a list": ("[]", "a JSON list, not an object"),
    "no task": ('{"submitted_at": 0}', "not a task envelope"),
    "unknown key": ('{"task": {"id": "g", "backend": "command", "argv": ["true"], "bogus": 1},'
                    ' "submitted_at": 0}', "task key 'bogus'"),
}


@pytest.mark.parametrize(("text", "problem"), BAD_ENVELOPES.values(), ids=BAD_ENVELOPES.keys())
def test_a_request_that_cannot_be_read_is_moved_aside_and_its_task_fails(
        swarm_dir: Store, text: str, problem: str) -> None:
    path = swarm_dir.path("requests", "g")
    path.write_text(text)
    with pytest.raises(DamagedFile, match=problem) as damage:
        swarm_dir.request("g")
    result = swarm_dir.reject("requests", "g", damage.value)
    assert result is not None
    assert result.status is Status.FAILED
    assert str(path) in result.reason
    assert problem in result.reason
    [moved] = (swarm_dir.root / "rejected").iterdir()
    assert str(moved) in result.reason
    assert swarm_dir.pending() == []
    assert swarm_dir.result("g") == {"version": 1, **result.to_json()}
    assert swarm_dir.reject("requests", "g", damage.value) is None  # already moved


SECRET_ENVELOPES = {
    "an unknown key": {"task": {"id": "g", "backend": "command", "argv": ["true"], "bogus": 1,
                                "env": {"TOKEN": "s3cret-value", "HOME_DIR": "/root"}},
                       "submitted_at": 0},
    "an env of the wrong type": {"task": {"id": "g", "backend": "command", "argv": ["true"],
                                          "env": ["TOKEN=s3cret-value"]}, "submitted_at": 0},
    "a task without its envelope": {"id": "g", "env": {"TOKEN": "s3cret-value"},
                                    "steps": [{"env": {"NESTED": "s3cret-value"}}]},
}


@pytest.mark.parametrize("kind", ["requests", "processing"])
@pytest.mark.parametrize("envelope", SECRET_ENVELOPES.values(), ids=SECRET_ENVELOPES.keys())
def test_a_rejected_request_keeps_its_env_names_but_not_their_values(
        swarm_dir: Store, kind: str, envelope: dict[str, object]) -> None:
    path = swarm_dir.path(kind, "g")
    path.write_text(json.dumps(envelope))
    with pytest.raises(DamagedFile) as damage:
        Store.claimed(swarm_dir, "g") if kind == "processing" else swarm_dir.request("g")
    result = swarm_dir.reject(kind, "g", damage.value)
    assert result is not None
    assert "env values removed, names kept" in result.reason
    [moved] = (swarm_dir.root / "rejected").iterdir()
    kept = moved.read_text()
    assert "s3cret-value" not in kept
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert not path.exists()
    whole = json.loads(kept)
    if "task" in whole:
        assert whole["task"]["argv"] == ["true"]
        assert whole["task"]["env"] in (["HOME_DIR", "TOKEN"], [])
    else:
        assert whole["env"] == ["TOKEN"]
        assert whole["steps"] == [{"env": ["NESTED"]}]


@pytest.mark.parametrize("text", ['{"task": {"env": {"TOKEN": "s3cret-value"}', "[" * 100000,
                                  '{"task": {"env": {"TOKEN": "s3cret-value"}}} trailing'])
def test_a_rejected_request_that_is_not_json_is_not_kept_but_said_so(swarm_dir: Store,
                                                                      text: str) -> None:
    path = swarm_dir.path("requests", "g")
    path.write_text(text)
    with pytest.raises(DamagedFile, match="not JSON") as damage:
        swarm_dir.request("g")
    result = swarm_dir.reject("requests", "g", damage.value)
    assert result is not None
    assert "its content not kept: it is not JSON and may hold env values" in result.reason
    [moved] = (swarm_dir.root / "rejected").iterdir()
    stub = json.loads(moved.read_text())
    assert stub["content"] == "not kept"
    assert stub["size"] == len(text)
    assert "s3cret-value" not in moved.read_text()


def test_a_symlink_in_place_of_a_request_is_moved_as_it_is(swarm_dir: Store,
                                                            tmp_path: Path) -> None:
    elsewhere = tmp_path / "someone-elses.json"
    elsewhere.write_text('{"env": {"TOKEN": "s3cret-value"}}')
    swarm_dir.path("requests", "g").symlink_to(elsewhere)
    with pytest.raises(DamagedFile) as damage:
        swarm_dir.request("g")
    result = swarm_dir.reject("requests", "g", damage.value)
    assert result is not None
    assert "kept as found" in result.reason
    [moved] = (swarm_dir.root / "rejected").iterdir()
    assert moved.is_symlink()
    assert elsewhere.read_text() == '{"env": {"TOKEN": "s3cret-value"}}'


@pytest.mark.parametrize(("text", "problem"), BAD_ENVELOPES.values(), ids=BAD_ENVELOPES.keys())
def test_recovery_rejects_a_claim_that_cannot_be_read_and_goes_on(
        swarm_dir: Store, text: str, problem: str) -> None:
    swarm_dir.submit(tasks(1))
    swarm_dir.claim(["t0"], owner="dead-owner")
    swarm_dir.path("processing", "g").write_text(text)
    found = recover(swarm_dir, max_attempts=2)
    assert found.requeued == ("t0",)
    [(task_id, reason)] = found.rejected
    assert task_id == "g"
    assert problem in reason
    assert "processing/g.json" in reason
    assert (swarm_dir.result("g") or {})["status"] == "failed"
    assert swarm_dir.processing() == []
    assert recover(swarm_dir, max_attempts=2).rejected == ()


@pytest.mark.parametrize("text", ["[]", "{x", '{"session": "x"}',
                                  '{"active": "z", "session": {"started_at": "y"}}'])
def test_a_damaged_state_file_is_recounted_and_rewritten(swarm_dir: Store, text: str) -> None:
    swarm_dir.submit(tasks(1))
    (swarm_dir.root / "state.json").write_text(text)
    state = swarm_dir.state()
    assert (state["queued"], state["active"], state["finished"]) == (1, 0, 0)
    assert isinstance(state.get("session", {}), dict)
    report = status_report(swarm_dir)
    assert (report["queued"], report["max_parallel"]) == (1, 1)
    swarm_dir.submit(build_tasks([{"backend": "command", "argv": ["true"], "id": "u"}]))
    assert json.loads((swarm_dir.root / "state.json").read_text())["queued"] == 2


@pytest.mark.parametrize(("text", "problem"), [("{x", "not JSON"), ("[]", "a JSON list"),
                                               ('{"id": "b"}', "no 'status'")])
def test_a_damaged_result_is_reported_as_damaged(swarm_dir: Store, text: str,
                                                 problem: str) -> None:
    finished(swarm_dir, 1)
    path = swarm_dir.path("results", "b")
    path.write_text(text)
    damaged = swarm_dir.result("b")
    assert damaged is not None
    assert damaged["status"] == "damaged"
    assert str(path) in damaged["reason"]
    assert problem in damaged["reason"]
    report = status_report(swarm_dir)
    assert report["by_status"] == {"succeeded": 1, "damaged": 1}
    assert [str(path) in entry for entry in report["damaged"]] == [True]


def test_status_marks_the_claims_of_a_dead_coordinator_as_orphaned(swarm_dir: Store) -> None:
    swarm_dir.submit(tasks(2))
    held = lease.Lease.acquire(swarm_dir.root)
    (swarm_dir.root / "coordinators" / "gone-1.lock").touch()
    try:
        swarm_dir.claim(["t0"], owner=held.owner)
        swarm_dir.claim(["t1"], owner="gone-1")
        report = status_report(swarm_dir)
        assert [(r["id"], r["owner"]) for r in report["running"]] == [("t0", held.owner)]
        assert [o["id"] for o in report["orphaned"]] == ["t1"]
        assert "coordinator is gone" in report["orphaned"][0]["reason"]
        assert report["active"] == 1
        assert lease.someone_died(swarm_dir.root)  # status left the dead lease for recovery
        assert (swarm_dir.root / "coordinators" / "gone-1.lock").exists()
    finally:
        held.release()
