"""Phased plans: loading checks as tables, and whole runs with command workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from hookswarm.lib.swarm.batch import StoreRunner
from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.plan import PlanError, load_plan
from hookswarm.lib.swarm.plan_report import markdown, plan_report
from hookswarm.lib.swarm.plan_run import PlanRun, changed, time_saved, to_rerun, work_seconds
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.swarm import swarm

HEAD = 'name = "p"\n[defaults]\nbackend = "command"\n'


def _task(tid: str, owns: str, script: str = "true") -> str:
    return (f'[[phases.tasks]]\nid = "{tid}"\nowns = ["{owns}"]\nexpects = ["{owns}"]\n'
            f"argv = {json.dumps(['sh', '-c', script])}\n")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("body", "message"), [
    ('[[phases]]\nname = "a"\n' + _task("x", "src/*.py") + _task("y", "src/calc.py"),
     "phase 'a': tasks 'x' (src/*.py) and 'y' (src/calc.py) own overlapping paths"),
    ('[[phases]]\nname = "a"\n' + _task("x", "src/**") + _task("y", "src/deep/f.py"),
     "tasks 'x' (src/**) and 'y' (src/deep/f.py) own overlapping paths"),
    ('[[phases]]\nname = "a"\ncontracts = ["api.md"]\n' + _task("x", "a.py"),
     "phase 'a': no task of the phase may write its contract 'api.md'"),
    ('[[phases]]\nname = "a"\ncontracts = ["*.md"]\n' + _task("x", "a.md"),
     "contract '*.md' must be a file path inside the plan's folder"),
    ('[[phases]]\nname = "a"\n' + _task("x", "a.py") + '[[phases]]\nname = "a"\n'
     + _task("y", "b.py"), "two phases are named 'a'"),
    ('[[phases]]\nname = "a"\n' + _task("x", "a.py") + '[[phases]]\nname = "b"\n'
     + _task("x", "b.py"), "two tasks have the id 'x'"),
    ('[[phases]]\nname = "a"\ncolour = 1\n' + _task("x", "a.py"), "key 'phases.0.colour'"),
    ('[[phases]]\nname = "a"\n[[phases.tasks]]\nbackend = "command"\n',
     "phase 'a' (#1): ", ),
    ("[[phases]]\nname = 'a'\ntasks = []\n", "key 'phases.0.tasks'"),
])
def test_plans_that_cannot_run_are_refused_at_load(tmp_path: Path, body: str,
                                                   message: str) -> None:
    with pytest.raises(PlanError) as caught:
        load_plan(_write(tmp_path / "plan.toml", HEAD + body), base=str(tmp_path))
    assert message in str(caught.value)
    assert not (tmp_path / ".swarm").exists()


def test_tasks_of_different_phases_may_own_the_same_paths(tmp_path: Path) -> None:
    body = ('[[phases]]\nname = "a"\n' + _task("x", "src/*.py") + '[[phases]]\nname = "b"\n'
            + _task("y", "src/calc.py"))
    plan = load_plan(_write(tmp_path / "p.toml", HEAD + body), base=str(tmp_path))
    assert [[t.id for t in p.tasks] for p in plan.phases] == [["x"], ["y"]]


@pytest.mark.parametrize(("recorded", "now", "broken"), [
    ({}, {}, []),
    ({"a": "1"}, {"a": "1"}, []),
    ({"a": "1"}, {"a": "2"}, ["a"]),
    ({"a": "1", "b": "2"}, {"a": "1", "b": None}, ["b"]),
])
def test_changed_contracts_table(recorded: dict[str, str], now: dict[str, str | None],
                                 broken: list[str]) -> None:
    assert changed(recorded, now) == broken


@pytest.mark.parametrize(("batches", "expected"), [
    ([], {"wall_s": 0, "serial_s": 0, "saved_s": 0, "saved_pct": None}),
    ([{"wall_s": 2.0, "task_s": 8.0}], {"wall_s": 2.0, "serial_s": 8.0, "saved_s": 6.0,
                                        "saved_pct": 75.0}),
    ([{"wall_s": 2.0, "task_s": 2.0}, {"wall_s": 1.0, "task_s": 3.0}],
     {"wall_s": 3.0, "serial_s": 5.0, "saved_s": 2.0, "saved_pct": 40.0}),
    ([{"wall_s": 3.0, "task_s": 2.0}], {"wall_s": 3.0, "serial_s": 2.0, "saved_s": -1.0,
                                        "saved_pct": -50.0}),
])
def test_time_saved_is_wall_against_the_sum_of_durations(batches: list[dict[str, float]],
                                                         expected: dict[str, Any]) -> None:
    assert time_saved(batches) == expected


@pytest.mark.parametrize(("result", "seconds"), [
    ({"duration_s": 2.5, "worker": {}}, 2.5),
    ({"duration_s": 2.5, "worker": {"answer_s": 0.5}}, 0.5),
    ({"duration_s": 2.5, "worker": {"answer_s": None}}, 2.5),
    ({"status": "failed"}, 0.0),
])
def test_a_model_task_works_for_its_answer_time_not_its_wait_for_a_slot(
        result: dict[str, Any], seconds: float) -> None:
    assert work_seconds(result) == seconds


def test_to_rerun_keeps_only_what_succeeded(tmp_path: Path) -> None:
    tasks = build_tasks([{"id": i, "backend": "command", "argv": ["true"]} for i in "abc"],
                        base=str(tmp_path))
    before = {"a": {"status": "succeeded"}, "b": {"status": "contract_broken"}}
    assert [t.id for t in to_rerun(tasks, before)] == ["b", "c"]


# ---------------------------------------------------------------- runs with command workers

def _git_repo(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def _plan_text(*, impl_script: str, gate: str) -> str:
    log = "echo $SWARM_TASK_ID >> runs.log; "
    return HEAD + (
        '[[phases]]\nname = "contract"\ncontracts = ["api.md"]\n'
        + _task("api", "api.md", log + "printf 'add(a, b)\\nsub(a, b)\\n' > api.md")
        + '[[phases]]\nname = "build"\n'
        + _task("impl", "impl.txt", log + impl_script)
        + _task("docs", "docs.txt", log + "grep -c '(' api.md > docs.txt")
        + f'[[phases]]\nname = "check"\ngates = [{json.dumps(gate)}]\n'
        + _task("tests", "tests.txt", log + "echo ok > tests.txt"))


def _run(tmp_path: Path, text: str, *, resume: bool = False) -> dict[str, Any]:
    plan = load_plan(_write(tmp_path / "plan.toml", text), base=str(tmp_path))
    store = Store.for_project(tmp_path)
    run = PlanRun(plan, store.root, StoreRunner(store, SwarmConfig()))
    run.load() if resume else run.fresh()
    anyio.run(run.run)
    return plan_report(run.state)


def _runs(tmp_path: Path) -> list[str]:
    return [line.rsplit("-", 2)[0] for line in (tmp_path / "runs.log").read_text().split()]


GOOD_IMPL = "sed 's/^/def /' api.md > impl.txt"
GATE_OK = f"{sys.executable} -c \"import pathlib; assert pathlib.Path('tests.txt').exists()\""


def test_a_plan_runs_its_phases_and_the_report_matches_the_disk(tmp_path: Path) -> None:
    _git_repo(tmp_path)
    report = _run(tmp_path, _plan_text(impl_script=GOOD_IMPL, gate=GATE_OK))
    assert report["status"] == "passed"
    assert report["phases_passed"] == 3
    assert (tmp_path / "impl.txt").read_text() == "def add(a, b)\ndef sub(a, b)\n"
    assert (tmp_path / "docs.txt").read_text() == "2\n"
    assert sorted(_runs(tmp_path)) == ["api", "docs", "impl", "tests"]
    files = {f["path"]: f for p in report["phases"] for t in p["tasks"] for f in t["files"]}
    assert sorted(files) == ["api.md", "docs.txt", "impl.txt", "tests.txt"]
    for path, fact in files.items():
        text = (tmp_path / path).read_text()
        assert (fact["bytes"], fact["lines"], fact["added"], fact["removed"]) == (
            len(text), text.count("\n"), text.count("\n"), 0)
    assert report["files_written"] == 4
    assert report["lines_added"] == 6
    [contract] = report["phases"][0]["contracts"].values()
    assert len(contract) == 64
    [gate] = report["phases"][2]["gates"]
    assert gate["passed"]
    assert gate["exit_code"] == 0
    serial = sum(t["duration_s"] for p in report["phases"] for t in p["tasks"])
    assert report["time"]["serial_s"] == pytest.approx(serial, abs=0.01)
    assert report["time"]["saved_s"] == pytest.approx(
        report["time"]["serial_s"] - report["time"]["wall_s"], abs=0.002)
    text = markdown(report)
    assert "# Plan p: passed (3 of 3 phases passed)" in text
    assert "| impl | succeeded | impl.txt | +2 / -0 |" in text


def test_outside_git_the_lines_are_unknown_not_made_up(tmp_path: Path) -> None:
    report = _run(tmp_path, _plan_text(impl_script=GOOD_IMPL, gate=GATE_OK))
    assert report["status"] == "passed"
    assert report["lines_added"] is None
    assert "| impl | succeeded | impl.txt | +? / -? |" in markdown(report)


def test_a_task_that_edits_an_earlier_contract_stops_the_plan_and_resume_reruns_only_it(
        tmp_path: Path) -> None:
    _git_repo(tmp_path)
    bad = "echo 'mul(a, b)' >> api.md; " + GOOD_IMPL
    report = _run(tmp_path, _plan_text(impl_script=bad, gate=GATE_OK))
    assert report["status"] == "failed"
    build = report["phases"][1]
    assert build["status"] == "failed"
    assert report["phases"][2]["status"] == "pending"
    assert "contract 'api.md' changed during phase 'build' (one of the tasks impl, docs)" \
        in build["reason"]
    statuses = {t["id"]: t["status"] for t in build["tasks"]}
    assert statuses == {"impl": "contract_broken", "docs": "contract_broken"}
    diff = next(tmp_path.glob(".swarm/plans/p/evidence/build-api.md.diff")).read_text()
    assert "+mul(a, b)" in diff
    assert not (tmp_path / "tests.txt").exists()
    with pytest.raises(PlanError, match=r"contract 'api.md' is not what its gate passed"):
        _run(tmp_path, _plan_text(impl_script=GOOD_IMPL, gate=GATE_OK), resume=True)
    (tmp_path / "api.md").write_text("add(a, b)\nsub(a, b)\n")
    report = _run(tmp_path, _plan_text(impl_script=GOOD_IMPL, gate=GATE_OK), resume=True)
    assert report["status"] == "passed"
    runs = _runs(tmp_path)
    assert runs[0] == "api"
    assert runs[-1] == "tests"
    assert sorted(runs[1:-1]) == ["docs", "docs", "impl", "impl"]
    assert [p["runs"] for p in report["phases"]] == [1, 2, 1]


def test_an_owner_that_edits_a_contract_is_the_one_blamed(tmp_path: Path) -> None:
    text = _plan_text(impl_script=GOOD_IMPL, gate=GATE_OK).replace(
        'owns = ["impl.txt"]', 'owns = ["impl.txt", "api.md"]').replace(
        GOOD_IMPL, "echo x >> api.md; " + GOOD_IMPL)
    report = _run(tmp_path, text)
    build = report["phases"][1]
    assert "(task impl)" in build["reason"]
    assert {t["id"]: t["status"] for t in build["tasks"]} == {"impl": "contract_broken",
                                                              "docs": "succeeded"}


def test_a_failing_gate_stops_with_its_output_and_resume_reruns_only_the_gate(
        tmp_path: Path) -> None:
    gate = f"{sys.executable} -c \"import pathlib; assert pathlib.Path('fixed').exists(), " \
           "'fixed is missing'\""
    report = _run(tmp_path, _plan_text(impl_script=GOOD_IMPL, gate=gate))
    check = report["phases"][2]
    assert report["status"] == "failed"
    assert check["status"] == "failed"
    [failed] = check["gates"]
    assert not failed["passed"]
    assert failed["exit_code"] == 1
    assert "fixed is missing" in Path(failed["log"]).read_text()
    assert f"gate `{gate}` exited 1; its output is in {failed['log']}" in check["reason"]
    assert [t["status"] for t in check["tasks"]] == ["succeeded"]
    (tmp_path / "fixed").write_text("yes")
    report = _run(tmp_path, _plan_text(impl_script=GOOD_IMPL, gate=gate), resume=True)
    assert report["status"] == "passed"
    assert sorted(_runs(tmp_path)) == ["api", "docs", "impl", "tests"]
    assert [p["runs"] for p in report["phases"]] == [1, 1, 2]


def test_a_task_that_does_not_write_its_file_fails_the_phase_with_its_evidence(
        tmp_path: Path) -> None:
    report = _run(tmp_path, _plan_text(impl_script="true", gate=GATE_OK))
    build = report["phases"][1]
    assert build["status"] == "failed"
    assert build["reason"].startswith("task 'impl' unverified: ")
    assert "impl.txt does not exist" in build["reason"]


def test_swarm_plan_cli_runs_resumes_and_refuses_bad_plans(tmp_path: Path) -> None:
    plan = _write(tmp_path / "plan.toml", _plan_text(impl_script=GOOD_IMPL, gate="false"))
    code, out, _ = swarm(tmp_path, "plan", "run", str(plan))
    assert code == 1
    assert "## Phase check: failed" in out
    plan.write_text(_plan_text(impl_script=GOOD_IMPL, gate="true"))
    code, out, _ = swarm(tmp_path, "plan", "resume", str(plan), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["command"] == "plan"
    assert report["status"] == "passed"
    plan.write_text(HEAD + '[[phases]]\nname = "a"\n' + _task("x", "a/*") + _task("y", "a/b"))
    code, _, err = swarm(tmp_path, "plan", "run", str(plan))
    assert code == 2
    assert "tasks 'x' (a/*) and 'y' (a/b) own overlapping paths" in err
    other = _write(tmp_path / "q.toml", HEAD.replace('"p"', '"q"') + '[[phases]]\nname = "a"\n'
                   + _task("x", "a.txt"))
    code, _, err = swarm(tmp_path, "plan", "resume", str(other))
    assert code == 2
    assert "no run of plan 'q' to resume" in err
    state = tmp_path / ".swarm" / "plans" / "q" / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("[" * 100_000 + "]" * 100_000)  # nested past the parser's depth
    code, _, err = swarm(tmp_path, "plan", "resume", str(other))
    assert code == 2
    assert "no run of plan 'q' to resume" in err
    assert "is missing or damaged" in err
