"""The coordinator under faults: requests it cannot read, damaged bookkeeping, a second
coordinator on the same store, escaping processes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import anyio
import pytest

from hookswarm.lib import process_scan
from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.cli import main as swarm_main
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.settle import TASK_ID_ENV
from hookswarm.lib.swarm.store import Envelope, Store
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.swarm import coordinate, pids_alive, unprivileged

TRUE: dict[str, object] = {"backend": "command", "argv": ["true"]}


def serve_until_idle(store: Store) -> None:
    anyio.run(lambda: Coordinator(store, SwarmConfig()).run(until_idle=True))


def test_a_directory_in_place_of_a_request_is_rejected_and_serve_carries_on(
        swarm_dir: Store, tmp_path: Path) -> None:
    swarm_dir.path("requests", "zz").mkdir()
    _, events, _ = coordinate(swarm_dir, [{"id": "fine", **TRUE}], tmp_path, only=False)
    ended = {e["id"]: e for e in events if e["kind"] == "ended"}
    assert ended["fine"]["status"] == "succeeded"
    assert ended["zz"]["status"] == "failed"
    assert str(swarm_dir.path("requests", "zz")) in ended["zz"]["reason"]
    assert "rejected" in ended["zz"]["reason"]
    assert (swarm_dir.result("zz") or {})["status"] == "failed"
    assert swarm_dir.pending() == []
    [moved] = (swarm_dir.root / "rejected").iterdir()
    assert moved.is_dir()


def test_a_request_no_one_may_read_is_rejected_and_the_others_run(tmp_path: Path) -> None:
    store = Store.for_project(tmp_path)
    store.submit(build_tasks([{"id": "locked", **TRUE}, {"id": "fine", **TRUE}],
                             base=str(tmp_path)))
    store.path("requests", "locked").chmod(0)
    assert unprivileged(lambda: serve_until_idle(store)) == 0
    assert (store.result("fine") or {})["status"] == "succeeded"
    locked = store.result("locked") or {}
    assert locked["status"] == "failed"
    assert "Permission denied" in locked["reason"]
    assert str(store.path("requests", "locked")) in locked["reason"]
    assert store.pending() == []


POISONED_REQUESTS = {
    "nested past the parser's depth": "[" * 100000,
    "an attempt past any integer": '{"task": {"id": "zz", "backend": "command", "argv": ["true"]},'
                                   ' "submitted_at": 0, "attempt": 1e400}',
    "not UTF-8": b'{"task": "\xff\xfe"}'.decode("latin-1"),
}


@pytest.mark.parametrize("text", POISONED_REQUESTS.values(), ids=POISONED_REQUESTS.keys())
def test_a_poisoned_request_is_rejected_and_serve_carries_on(swarm_dir: Store, tmp_path: Path,
                                                             text: str) -> None:
    swarm_dir.path("requests", "zz").write_bytes(text.encode("latin-1"))
    _, events, _ = coordinate(swarm_dir, [{"id": "fine", **TRUE}], tmp_path, only=False)
    ended = {e["id"]: e for e in events if e["kind"] == "ended"}
    assert ended["fine"]["status"] == "succeeded"
    assert (swarm_dir.result("zz") or {})["status"] == "failed"
    assert str(swarm_dir.path("requests", "zz")) in ended["zz"]["reason"]
    assert swarm_dir.pending() == []


def test_a_damaged_request_that_rejected_cannot_take_still_fails_and_the_rest_run(
        tmp_path: Path) -> None:
    store = Store.for_project(tmp_path)
    store.submit(build_tasks([{"id": "fine", **TRUE}], base=str(tmp_path)))
    store.path("requests", "zz").write_text(json.dumps(
        {"task": {"id": "zz", "bogus": 1, "env": {"TOKEN": "s3cret"}}, "submitted_at": 0}))
    (store.root / "rejected").chmod(0o500)
    assert unprivileged(lambda: serve_until_idle(store)) == 0
    assert (store.result("fine") or {})["status"] == "succeeded"
    failed = store.result("zz") or {}
    assert failed["status"] == "failed"
    assert f"{store.root / 'rejected'} cannot take it (Permission denied)" in failed["reason"]
    [kept] = (store.root / "requests").iterdir()
    assert kept.name.startswith(".zz.")
    assert str(kept) in failed["reason"]
    assert json.loads(kept.read_text())["task"]["env"] == ["TOKEN"]
    assert store.pending() == []


def test_a_request_whose_task_id_is_not_its_file_name_is_rejected(swarm_dir: Store,
                                                                     tmp_path: Path) -> None:
    [other] = build_tasks([{"id": "other", **TRUE}], base=str(tmp_path))
    swarm_dir.path("requests", "zz").write_text(json.dumps(Envelope(other, 0).to_json()))
    _, events, _ = coordinate(swarm_dir, [{"id": "fine", **TRUE}], tmp_path, only=False)
    ended = {e["id"]: e for e in events if e["kind"] == "ended"}
    assert ended["fine"]["status"] == "succeeded"
    assert "it holds task 'other'" in ended["zz"]["reason"]
    assert swarm_dir.result("other") is None
    assert (swarm_dir.pending(), swarm_dir.processing()) == ([], [])


def held(release: Path, **extra: object) -> dict[str, object]:
    """A task that runs until ``release`` exists."""
    wait = f"until [ -e {release} ]; do sleep 0.01; done"
    return {"backend": "command", "argv": ["sh", "-c", wait], **extra}


def side_by_side(project: Path, first: list[dict[str, object]], second: list[dict[str, object]],
                 config: SwarmConfig, *, first_starts: int) -> list[tuple[str, str]]:
    """Run a coordinator over ``first``; once it has started ``first_starts`` held workers, a
    second coordinator (its own Store on the same .swarm/) over ``second``.

    The held workers are released right after the second coordinator's first admission (the
    probe of its backend answers at once, so its loop admits before the releasing task runs).
    Returns the ``(kind, id)`` of both coordinators' started and ended events in order, with
    ``("released", "")`` where the release happened.
    """
    release = project / "release"
    spans: list[tuple[str, str]] = []
    first_started, second_probed = anyio.Event(), anyio.Event()

    def on_first(event: dict[str, object]) -> None:
        if event["kind"] in ("started", "ended"):
            spans.append((str(event["kind"]), str(event["id"])))
        if sum(kind == "started" for kind, _ in spans) == first_starts:
            first_started.set()

    def on_second(event: dict[str, object]) -> None:
        on_first(event)
        if event["kind"] == "health":
            second_probed.set()

    async def release_after_admission() -> None:
        await second_probed.wait()
        spans.append(("released", ""))
        release.touch()

    async def both() -> None:
        stores = [Store.for_project(project) for _ in range(2)]
        ids = [s.submit(build_tasks(b, base=str(project)))
               for s, b in zip(stores, (first, second), strict=True)]
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: Coordinator(stores[0], config, on_event=on_first)
                             .run(only=ids[0]))
            await first_started.wait()
            group.start_soon(release_after_admission)
            await Coordinator(stores[1], config, on_event=on_second).run(only=ids[1])

    anyio.run(both)
    return spans


def started_before_release(spans: list[tuple[str, str]]) -> list[str]:
    return [i for kind, i in spans[:spans.index(("released", ""))] if kind == "started"]


def test_two_coordinators_on_one_store_share_the_global_cap(tmp_path: Path) -> None:
    release = tmp_path / "release"
    spans = side_by_side(tmp_path, [held(release, id=f"a{i}") for i in range(2)],
                         [held(release, id=f"b{i}") for i in range(2)],
                         SwarmConfig(max_parallel=2), first_starts=2)
    assert started_before_release(spans) == ["a0", "a1"]
    assert len(spans) == 9


def test_two_coordinators_share_a_backend_cap(tmp_path: Path) -> None:
    release = tmp_path / "release"
    spans = side_by_side(tmp_path, [held(release, id="a")], [held(release, id="b")],
                         SwarmConfig(max_parallel=4, caps={"command": 1}), first_starts=1)
    assert started_before_release(spans) == ["a"]
    assert len(spans) == 5


def test_two_coordinators_never_run_tasks_owning_the_same_file_at_once(tmp_path: Path) -> None:
    release = tmp_path / "release"
    spans = side_by_side(tmp_path, [held(release, id="a-shared", owns=["shared.txt"])],
                         [held(release, id="b-shared", owns=["shared.txt"]),
                          held(release, id="b-other", owns=["other.txt"])],
                         SwarmConfig(max_parallel=4), first_starts=1)
    assert started_before_release(spans) == ["a-shared", "b-other"]
    assert len(spans) == 7


ESCAPES = """
touch pids
setsid sh -c 'echo $$ >> pids; exec sleep 300' &
(setsid sh -c 'echo $$ >> pids; exec sleep 300' &)
nohup setsid sh -c 'echo $$ >> pids; exec sleep 300' > /dev/null 2>&1 &
(sh -c 'echo $$ >> pids; exec sleep 300' &)
while [ "$(wc -l < pids)" -lt 4 ]; do sleep 0.01; done
"""


def test_no_process_a_task_started_outlives_it(swarm_dir: Store, tmp_path: Path) -> None:
    coordinate(swarm_dir, [{"id": "escaper", "backend": "command", "argv": ["sh", "-c", ESCAPES]}],
               tmp_path)
    assert (swarm_dir.result("escaper") or {})["status"] == "succeeded"
    pids = [int(line) for line in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 4
    assert process_scan.processes_with_env(f"{TASK_ID_ENV}=escaper") == []
    assert pids_alive(pids) == []
    assert not set(pids) & set(children_of_this_process())


def children_of_this_process() -> list[int]:
    found: list[int] = []
    for tid in os.listdir("/proc/self/task"):
        found += [int(p) for p in Path(f"/proc/self/task/{tid}/children").read_text().split()]
    return found


def damaging_run(damage: str, count: int = 8) -> list[dict[str, object]]:
    """``count`` tasks, one at a time; the first one damages the store's bookkeeping."""
    return [{"id": "t0", "backend": "command", "argv": ["sh", "-c", damage]},
            *({"id": f"t{i}", **TRUE} for i in range(1, count))]


def run_one_at_a_time(store: Store, project: Path, entries: list[dict[str, object]]) -> None:
    ids = store.submit(build_tasks(entries, base=str(project)))
    anyio.run(lambda: Coordinator(store, SwarmConfig(max_parallel=1)).run(only=ids))


def test_state_json_replaced_by_a_directory_mid_run_is_rebuilt(swarm_dir: Store,
                                                               tmp_path: Path) -> None:
    damage = "until mkdir .swarm/state.json 2>/dev/null; do rm -f .swarm/state.json; done"
    run_one_at_a_time(swarm_dir, tmp_path, damaging_run(damage))
    assert [r["status"] for r in swarm_dir.results()] == ["succeeded"] * 8
    assert swarm_dir.pending() == []
    assert swarm_dir.processing() == []
    assert (swarm_dir.root / "state.json").is_file()
    assert swarm_dir.state()["finished"] == 8
    assert [p.name[:10] for p in (swarm_dir.root / "rejected").iterdir()] == ["state.json"]


@pytest.mark.parametrize("damaged", ["state.json", "state.lock"])
def test_an_unreadable_state_file_mid_run_does_not_stop_the_run(tmp_path: Path,
                                                                 damaged: str) -> None:
    store = Store.for_project(tmp_path)
    (store.root / damaged).touch()
    entries = damaging_run(f"chmod 000 .swarm/{damaged}")
    assert unprivileged(lambda: run_one_at_a_time(store, tmp_path, entries)) == 0
    assert [r["status"] for r in store.results()] == ["succeeded"] * 8
    assert store.pending() == []
    assert store.processing() == []


ONCE = "[ -e damaged-once ] || {{ touch damaged-once; {}; }}"


def test_unwritable_results_fail_the_task_stop_admission_and_lose_no_queued_work(
        tmp_path: Path) -> None:
    store = Store.for_project(tmp_path)
    report = tmp_path / "report.json"

    def run_and_report() -> None:
        ids = store.submit(build_tasks(damaging_run(ONCE.format("chmod 000 .swarm/results"), 4),
                                       base=str(tmp_path)))
        coordinator = Coordinator(store, SwarmConfig(max_parallel=1))
        anyio.run(lambda: coordinator.run(only=ids))
        report.write_text(json.dumps({"halted": coordinator.halted, "results": {
            i: r.to_json() for i, r in coordinator.results.items()}}))

    assert unprivileged(run_and_report) == 0
    seen = json.loads(report.read_text())
    assert "cannot write results to" in seen["halted"]
    assert "Permission denied" in seen["halted"]
    first = seen["results"]["t0"]
    assert first["status"] == "failed"
    assert "its result could not be written" in first["reason"]
    for later in ("t1", "t2", "t3"):
        assert seen["results"][later]["reason"].startswith("not started: cannot write results")
    assert store.pending() == ["t1", "t2", "t3"]
    assert store.processing() == ["t0"]
    (store.root / "results").chmod(0o700)
    assert unprivileged(lambda: serve_until_idle(store)) == 0
    assert {r["id"]: r["status"] for r in store.results()} == dict.fromkeys(
        ["t0", "t1", "t2", "t3"], "succeeded")


def test_a_task_whose_result_could_not_be_written_does_not_run_again(tmp_path: Path) -> None:
    """The halted coordinator keeps the outcome on the claim; the next one writes it."""
    store = Store.for_project(tmp_path)
    runs = tmp_path / "runs"
    damage = f"echo ran >> {runs}; " + ONCE.format("chmod 000 .swarm/results")
    reason = tmp_path / "reason.txt"

    def run_and_report() -> None:
        entries = damaging_run(damage, 2)
        entries[0]["env"] = {"TOKEN": "s3cret"}
        ids = store.submit(build_tasks(entries, base=str(tmp_path)))
        coordinator = Coordinator(store, SwarmConfig(max_parallel=1))
        anyio.run(lambda: coordinator.run(only=ids))
        reason.write_text(coordinator.results["t0"].reason)

    assert unprivileged(run_and_report) == 0
    assert "the outcome is kept on its claim" in reason.read_text()
    assert lease.someone_died(store.root)  # so a live coordinator recovers the claim soon
    (store.root / "results").chmod(0o700)
    for _ in range(2):  # serve, then a second serve: neither runs t0 again
        assert unprivileged(lambda: serve_until_idle(store)) == 0
    assert runs.read_text() == "ran\n"
    first = store.result("t0") or {}
    assert first["status"] == "succeeded"
    assert "did not run again" in first["notes"][-1]
    assert first["task"]["env"] == ["TOKEN"]
    assert not [p for p in store.root.rglob("*") if p.is_file() and b"s3cret" in p.read_bytes()]
    assert (store.result("t1") or {})["status"] == "succeeded"
    assert (store.processing(), store.pending()) == ([], [])


FOLDER_DAMAGE = {
    "requests/ unreadable": ("chmod 000 .swarm/requests", "chmod 700 .swarm/requests"),
    "processing/ unwritable": ("chmod 500 .swarm/processing", "chmod 700 .swarm/processing"),
    "processing/ a file": ("mv .swarm/processing .swarm/away; touch .swarm/processing",
                           "rm .swarm/processing; mv .swarm/away .swarm/processing"),
    ".swarm/ unreadable": ("chmod 000 .swarm", "chmod 700 .swarm"),
    "coordinators/ unwritable": ("chmod 500 .swarm/coordinators",
                                 "chmod 700 .swarm/coordinators"),
}


@pytest.mark.parametrize(("damage", "repair"), FOLDER_DAMAGE.values(), ids=FOLDER_DAMAGE.keys())
def test_a_store_folder_damaged_mid_run_halts_with_the_fix_and_loses_nothing(
        tmp_path: Path, damage: str, repair: str) -> None:
    store = Store.for_project(tmp_path)
    runs = tmp_path / "runs"
    report = tmp_path / "report.json"

    def run_and_report() -> None:
        entries = damaging_run(f"echo ran >> {runs}; " + ONCE.format(damage), 4)
        ids = store.submit(build_tasks(entries, base=str(tmp_path)))
        coordinator = Coordinator(store, SwarmConfig(max_parallel=1))
        anyio.run(lambda: coordinator.run(only=ids))
        report.write_text(json.dumps({"halted": coordinator.halted, "reasons": {
            i: r.reason for i, r in coordinator.results.items()}}))

    assert unprivileged(run_and_report) == 0
    assert subprocess.run(["sh", "-c", repair], cwd=tmp_path, check=False).returncode == 0
    seen = json.loads(report.read_text())
    if seen["halted"]:
        assert "fix it" in seen["halted"] or "fix that folder" in seen["halted"]
        assert str(store.root) in seen["halted"]
    assert unprivileged(lambda: serve_until_idle(store)) == 0
    assert {r["id"]: r["status"] for r in store.results()} == dict.fromkeys(
        ["t0", "t1", "t2", "t3"], "succeeded")
    ran = runs.read_text().count("ran")
    assert ran == 1 or (ran == 2 and (store.result("t0") or {})["attempt"] == 1)  # a retry, said
    assert (store.pending(), store.processing()) == ([], [])


def test_a_symlink_at_a_log_or_context_name_is_never_written_through(swarm_dir: Store,
                                                                      tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("the user's own file\n")
    swarm_dir.log_path("talker").symlink_to(outside)
    swarm_dir.path("context", "long").symlink_to(outside)
    coordinate(swarm_dir, [{"id": "talker", "backend": "command", "argv": ["echo", "output"]},
                           {"id": "long", "backend": "command", "argv": ["true"],
                            "context": "c" * 100000}], tmp_path)
    assert outside.read_text() == "the user's own file\n"
    talker = swarm_dir.result("talker") or {}
    assert talker["status"] == "succeeded"
    assert talker["output_bytes"] == len("output\n")
    assert "could not be written (a symlink)" in talker["notes"][0]
    assert (swarm_dir.result("long") or {})["status"] == "succeeded"
    assert swarm_dir.path("context", "long").read_text() == "c" * 100000


def test_a_log_folder_closed_mid_run_loses_the_logs_not_the_tasks(tmp_path: Path) -> None:
    store = Store.for_project(tmp_path)
    entries = damaging_run(ONCE.format("chmod 000 .swarm/logs"), 3)
    assert unprivileged(lambda: run_one_at_a_time(store, tmp_path, entries)) == 0
    results = {r["id"]: r for r in store.results()}
    assert [r["status"] for r in results.values()] == ["succeeded"] * 3
    assert "fix " + str(store.root / "logs") in results["t1"]["notes"][0]
    assert (store.pending(), store.processing()) == ([], [])


def test_a_context_folder_that_cannot_be_written_fails_the_task_with_the_fix(
        swarm_dir: Store, tmp_path: Path) -> None:
    (swarm_dir.root / "context").rmdir()
    (swarm_dir.root / "context").write_text("not a folder")
    coordinate(swarm_dir, [{"id": "long", "backend": "command", "argv": ["true"],
                            "context": "c" * 100000}, {"id": "fine", **TRUE}], tmp_path)
    reason = (swarm_dir.result("long") or {})["reason"]
    assert "cannot write the task's context file" in reason
    assert f"fix {swarm_dir.root / 'context'}" in reason
    assert (swarm_dir.result("fine") or {})["status"] == "succeeded"


def test_recovery_into_unwritable_results_halts_instead_of_crashing(tmp_path: Path) -> None:
    store = Store.for_project(tmp_path)
    store.submit(build_tasks([{"id": "orphan", **TRUE}, {"id": "queued", **TRUE}],
                             base=str(tmp_path)))
    store.claim(["orphan"], owner="a-coordinator-that-died")
    (store.root / "results").chmod(0)
    halted = tmp_path / "halted.txt"

    def serve() -> None:
        coordinator = Coordinator(store, SwarmConfig(max_attempts=1))
        anyio.run(lambda: coordinator.run(until_idle=True))
        halted.write_text(coordinator.halted)

    assert unprivileged(serve) == 0
    assert "cannot write results to" in halted.read_text()
    assert store.processing() == ["orphan"]
    assert store.pending() == ["queued"]


ORPHAN_THAT_EXITS = """
sh -c 'setsid sh -c "echo \\$\\$ > orphan; touch orphan-done" &'
until [ -e orphan-done ]; do sleep 0.01; done
"""


def test_an_orphan_that_exits_on_its_own_is_adopted_and_reaped(swarm_dir: Store,
                                                              tmp_path: Path) -> None:
    coordinate(swarm_dir, [{"id": "orphaner", "backend": "command",
                            "argv": ["sh", "-c", ORPHAN_THAT_EXITS]}], tmp_path)
    assert (swarm_dir.result("orphaner") or {})["status"] == "succeeded"
    orphan = int((tmp_path / "orphan").read_text())
    assert orphan not in children_of_this_process()
    assert not Path(f"/proc/{orphan}").exists()


def test_serve_says_why_it_stopped_admitting_and_exits_1(tmp_path: Path,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    store = Store.for_project(tmp_path)
    store.submit(build_tasks(damaging_run(ONCE.format("chmod 000 .swarm/results"), 2),
                             base=str(tmp_path)))
    exit_code = tmp_path / "exit-code"

    def serve_cli() -> None:
        try:
            swarm_main(["--dir", str(tmp_path), "--max-parallel", "1", "serve",
                        "--exit-when-idle"])
        except SystemExit as stop:
            exit_code.write_text(str(stop.code))

    assert unprivileged(serve_cli) == 0
    assert exit_code.read_text() == "1"
    err = capfd.readouterr().err
    assert "swarm serve: stopped admitting: cannot write results to" in err
    assert (store.processing(), store.pending()) == (["t0"], ["t1"])  # none lost


def test_a_state_json_that_cannot_be_rebuilt_is_done_without_and_said_once(
        tmp_path: Path) -> None:
    store = Store.for_project(tmp_path)
    damage = ("chmod 000 .swarm/rejected; "
              "until mkdir .swarm/state.json 2>/dev/null; do rm -f .swarm/state.json; done")
    warnings = tmp_path / "warnings.json"

    def run() -> None:
        ids = store.submit(build_tasks(damaging_run(damage, 4), base=str(tmp_path)))
        seen: list[dict[str, object]] = []
        coordinator = Coordinator(store, SwarmConfig(max_parallel=1), on_event=seen.append)
        anyio.run(lambda: coordinator.run(only=ids))
        warnings.write_text(json.dumps([e for e in seen if e["kind"] == "warned"]))

    assert unprivileged(run) == 0
    assert [r["status"] for r in store.results()] == ["succeeded"] * 4
    [warned] = json.loads(warnings.read_text())
    assert "state.json could not be updated" in warned["problem"]
    assert store.state()["finished"] == 4  # recounted on demand


@pytest.mark.parametrize("closed", ["results", "processing", "logs"])
@pytest.mark.parametrize("verb", [["status"], ["status", "--all"], ["logs", "t1"],
                                  ["clean", "--all"]])
def test_the_reading_verbs_name_a_closed_folder_instead_of_a_traceback(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], closed: str, verb: list[str]) -> None:
    store = Store.for_project(tmp_path)
    store.submit(build_tasks([{"id": "t1", **TRUE}], base=str(tmp_path)))
    store.finish("t1", {"id": "t1", "status": "succeeded"})
    store.log_path("t1").write_text("output\n")
    (store.root / closed).chmod(0)
    exit_code = tmp_path / "exit-code"

    def verb_cli() -> None:
        try:
            swarm_main(["--dir", str(tmp_path), *verb])
            exit_code.write_text("0")
        except SystemExit as stop:
            exit_code.write_text(str(stop.code))

    assert unprivileged(verb_cli) == 0
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert exit_code.read_text() in ("0", "2")
    if exit_code.read_text() == "2":
        assert f"swarm: cannot use {store.root / closed}" in err
        assert "fix it" in err
