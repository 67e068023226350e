"""Pure cores of the coordinator as tables: timeouts, complexity, heartbeat, ownership,
evidence, admission, lazy context, efficiency, and how a claude result is judged."""

from __future__ import annotations

import os
from typing import Any

import pytest

from hookswarm.lib.swarm.claude import judge_result
from hookswarm.lib.swarm.complexity import complexity_score
from hookswarm.lib.swarm.context import compose, needs_file
from hookswarm.lib.swarm.evidence import Ending, FileFact, Status, Stop, verdict
from hookswarm.lib.swarm.heartbeat import HeartbeatPolicy, Pulse, pulse
from hookswarm.lib.swarm.metrics import parallel_efficiency, peak_concurrency
from hookswarm.lib.swarm.ownership import (
    absolute_globs,
    globs_overlap,
    may_write,
    overlapping,
    owned,
)
from hookswarm.lib.swarm.progress import summary_table
from hookswarm.lib.swarm.scheduler import Slot, admit
from hookswarm.lib.swarm.timeouts import (
    TimeoutPolicy,
    initial_deadline,
    next_deadline,
    why_stopped,
)

DEFAULT = TimeoutPolicy()


@pytest.mark.parametrize(("policy", "complexity", "expected"), [
    (DEFAULT, 1, 60.0),
    (DEFAULT, 2, 120.0),
    (DEFAULT, 3, 180.0),
    (DEFAULT, 0, 60.0),
    (DEFAULT, 9, 180.0),
    (TimeoutPolicy(initial=(10.0, 300.0, 400.0), cap=240.0), 2, 240.0),
    (TimeoutPolicy(initial=(1.0, 2.0, 3.0), extend=0.5, cap=2.5), 3, 2.5),
])
def test_initial_deadline_by_complexity(policy: TimeoutPolicy, complexity: int,
                                        expected: float) -> None:
    assert initial_deadline(policy, complexity) == expected


@pytest.mark.parametrize(("deadline", "progressed", "expected"), [
    (60.0, True, 120.0),
    (60.0, False, None),
    (180.0, True, 240.0),
    (200.0, True, 240.0),
    (240.0, True, None),
    (250.0, True, None),
    (120.0, False, None),
])
def test_next_deadline_extends_while_progressing_up_to_the_cap(
        deadline: float, progressed: bool, expected: float | None) -> None:
    assert next_deadline(DEFAULT, deadline=deadline, progressed=progressed) == expected


NO_EXTEND = TimeoutPolicy(extend=0.0)


@pytest.mark.parametrize(("policy", "deadline", "progressed", "expected", "why"), [
    (NO_EXTEND, 60.0, True, None, "extensions are off (extend = 0)"),
    (NO_EXTEND, 60.0, False, None, "extensions are off (extend = 0)"),
    (NO_EXTEND, 240.0, True, None, "extensions are off (extend = 0)"),
    (DEFAULT, 60.0, False, None, "printed nothing since the last deadline"),
    (DEFAULT, 240.0, True, None, "hit the cap"),
    (DEFAULT, 240.0, False, None, "hit the cap"),
    (TimeoutPolicy(extend=0.5, cap=2.0), 1.0, True, 1.5, ""),
])
def test_why_a_worker_gets_no_more_time(policy: TimeoutPolicy, deadline: float,
                                        progressed: bool, expected: float | None,
                                        why: str) -> None:
    assert next_deadline(policy, deadline=deadline, progressed=progressed) == expected
    if expected is None:
        assert why_stopped(policy, deadline=deadline) == why


def test_a_progressing_worker_walks_60_120_180_240_then_stops() -> None:
    walk = [initial_deadline(DEFAULT, 1)]
    while (nxt := next_deadline(DEFAULT, deadline=walk[-1], progressed=True)) is not None:
        walk.append(nxt)
    assert walk == [60.0, 120.0, 180.0, 240.0]


@pytest.mark.parametrize(("chars", "expects", "owns", "recursive", "score"), [
    (10, 0, 0, False, 1),
    (2_000, 0, 0, False, 1),
    (2_001, 0, 0, False, 2),
    (8_001, 0, 0, False, 3),
    (10, 3, 0, False, 2),
    (10, 0, 3, False, 2),
    (10, 0, 1, True, 2),
    (2_001, 3, 1, True, 3),
    (9_000, 5, 5, True, 3),
])
def test_complexity_score(chars: int, expects: int, owns: int, recursive: bool,
                          score: int) -> None:
    assert complexity_score(text_chars=chars, expects=expects, owns=owns,
                            recursive_owns=recursive) == score


@pytest.mark.parametrize(("silence", "state"), [
    (0.0, Pulse.OK), (44.9, Pulse.OK), (45.0, Pulse.WARN), (89.9, Pulse.WARN),
    (90.0, Pulse.KILL), (1e6, Pulse.KILL),
])
def test_heartbeat_defaults_warn_at_45_and_kill_at_90(silence: float, state: Pulse) -> None:
    assert pulse(HeartbeatPolicy(), silence) is state


def test_heartbeat_kill_below_warn_kills_without_warning() -> None:
    assert pulse(HeartbeatPolicy(warn=5, kill=1), 2) is Pulse.KILL


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ("/p/src/**", "/p/src/a.py", True),
    ("/p/src/**", "/p/src/deep/er/a.py", True),
    ("/p/src/**", "/p/tests/a.py", False),
    ("/p/*.py", "/p/src/a.py", False),
    ("/p/*.py", "/p/a.py", True),
    ("/p/**/*.py", "/p/a.py", True),
    ("/p/**/*.py", "/p/a.txt", False),
    ("/p/a[0-9].py", "/p/a[!0-9].py", False),
    ("/p/a[0-9].py", "/p/a[5-7].py", True),
    ("/p/a[0-3].py", "/p/a[5-7].py", False),
    ("/p/a?.py", "/p/ab.py", True),
    ("/p/a?.py", "/p/abc.py", False),
    ("/p/**", "/q/x", False),
    ("/p/**", "/p/**", True),
    ("/p/**/test_*.py", "/p/src/*_x.py", True),
    ("/p/src/*.md", "/p/src/*.py", False),
    ("/p/calc.py", "/p/calc.py", True),
    ("/p/calc.py", "/p/calc.pyc", False),
    ("/p/*", "/p/*/x", False),
])
def test_globs_overlap(a: str, b: str, overlap: bool) -> None:
    assert globs_overlap(a, b) is overlap
    assert globs_overlap(b, a) is overlap


@pytest.mark.parametrize(("path", "globs", "expected"), [
    ("/p/src/a.py", ["/p/src/**"], True),
    ("/p/src/a/b.py", ["/p/src/**"], True),
    ("/p/a.py", ["/p/**/*.py"], True),
    ("/p/src/a.py", ["/p/*.py"], False),
    ("/p/a.py", [], False),
    ("/p/a.py", ["/p/b.py", "/p/a.py"], True),
    ("/p/ab.py", ["/p/a?.py"], True),
])
def test_owned(path: str, globs: list[str], expected: bool) -> None:
    assert owned(path, globs) is expected


@pytest.mark.parametrize(("path", "owns", "expected"), [
    ("calc.py", ["calc.py"], True),
    ("sub/../calc.py", ["calc.py"], True),
    ("../outside.py", ["**"], False),
    ("other.py", ["calc.py"], False),
    ("src/x.py", ["src/**"], True),
])
def test_may_write_is_relative_to_the_task_directory(tmp_path: Any, path: str, owns: list[str],
                                                     expected: bool) -> None:
    cwd = tmp_path / "task"
    cwd.mkdir()
    assert may_write(path, cwd=str(cwd), owns=owns) is expected


@pytest.mark.parametrize(("globs", "anchored"), [
    (["src/"], ("/nonexistent-p/src/**",)),
    (["./src/", "a.py"], ("/nonexistent-p/src/**", "/nonexistent-p/a.py")),
    (["src/*/"], ("/nonexistent-p/src/*/**",)),
    (["/abs/x/../y/"], ("/abs/y/**",)),
])
def test_a_trailing_slash_owns_the_folder(globs: list[str], anchored: tuple[str, ...]) -> None:
    assert absolute_globs("/nonexistent-p", globs) == anchored


def test_may_write_under_a_glob_with_a_trailing_slash(tmp_path: Any) -> None:
    assert may_write("src/a.py", cwd=str(tmp_path), owns=["./src/"])
    assert may_write("src/deep/a.py", cwd=str(tmp_path), owns=["src/"])
    assert not may_write("other/a.py", cwd=str(tmp_path), owns=["src/"])


def test_globs_through_a_symlinked_folder_overlap_like_the_guard_judges(tmp_path: Any) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "src")
    via_link = absolute_globs(str(tmp_path), ["link/**"])
    assert via_link == (f"{os.path.realpath(tmp_path)}/src/**",)
    assert overlapping(via_link, absolute_globs(str(tmp_path), ["src/a.py"]))
    assert may_write("src/a.py", cwd=str(tmp_path), owns=["link/**"])
    assert not overlapping(via_link, absolute_globs(str(tmp_path), ["tests/a.py"]))


def test_may_write_sees_through_a_symlink_out_of_the_owned_folder(tmp_path: Any) -> None:
    (tmp_path / "task" / "src").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "task" / "src" / "escape").symlink_to(tmp_path / "secret")
    assert not may_write("src/escape/key", cwd=str(tmp_path / "task"), owns=["src/**"])


FRESH = FileFact("/p/a.py", exists=True, size=3, mtime_ns=200, ctime_ns=200, ino=7)
OLD = FileFact("/p/a.py", exists=True, size=3, mtime_ns=150, ctime_ns=150, ino=7)
ABSENT = FileFact("/p/a.py", exists=False)
CLEAN = Ending(Stop.NONE, clean=True)


@pytest.mark.parametrize(("ending", "files", "before", "status", "says"), [
    (CLEAN, [FRESH], ABSENT, Status.SUCCEEDED, "expected file(s) written"),
    (CLEAN, [FRESH], OLD, Status.SUCCEEDED, "expected file(s) written"),
    (CLEAN, [FRESH], None, Status.SUCCEEDED, "expected file(s) written"),
    (CLEAN, [FileFact("/p/a.py", True, 3, 150, 150, 8)], OLD, Status.SUCCEEDED, "written"),
    (CLEAN, [FileFact("/p/a.py", True, 3, 150, 160, 7)], OLD, Status.SUCCEEDED, "written"),
    (CLEAN, [], None, Status.SUCCEEDED, "cleanly"),
    (CLEAN, [ABSENT], ABSENT, Status.UNVERIFIED, "does not exist"),
    (CLEAN, [FileFact("/p/a.py", True, 0, 200)], ABSENT, Status.UNVERIFIED, "is empty"),
    (CLEAN, [OLD], OLD, Status.UNVERIFIED, "not written after"),
    (Ending(Stop.NONE, clean=False, reason="exited with status 2"), [FRESH], ABSENT,
     Status.FAILED, "status 2"),
    (Ending(Stop.NONE, clean=False), [], None, Status.FAILED, "did not end cleanly"),
    (Ending(Stop.TIMEOUT, clean=True, reason="ran past"), [FRESH], ABSENT, Status.TIMED_OUT,
     "ran past"),
    (Ending(Stop.SILENCE, clean=False, reason="no output"), [], None, Status.KILLED_SILENT,
     "no output"),
])
def test_evidence_verdict(ending: Ending, files: list[FileFact], before: FileFact | None,
                          status: Status, says: str) -> None:
    judged = verdict(ending, files, before={} if before is None else {before.path: before})
    assert judged.status is status
    assert says in judged.reason


@pytest.mark.parametrize(("ending", "files", "reason"), [
    (Ending(Stop.NONE, clean=True, denials=1), [FRESH],
     "ended cleanly; all 1 expected file(s) written; 1 tool call denied (see the log)"),
    (Ending(Stop.NONE, clean=True, denials=2), [ABSENT],
     "claimed success but /p/a.py does not exist; 2 tool calls denied (see the log)"),
    (Ending(Stop.NONE, clean=True), [FRESH], "ended cleanly; all 1 expected file(s) written"),
])
def test_the_verdict_names_denied_tool_calls(ending: Ending, files: list[FileFact],
                                             reason: str) -> None:
    assert verdict(ending, files, before={ABSENT.path: ABSENT}).reason == reason


def slot(name: str, backend: str = "command", owns: tuple[str, ...] = (),
         key: str = "") -> Slot:
    return Slot(name, backend, key or backend, owns)


@pytest.mark.parametrize(("queued", "running", "caps", "usable", "expected"), [
    ([slot(f"t{i}") for i in range(8)], [], {}, {"command"}, ["t0", "t1", "t2", "t3", "t4"]),
    ([slot(f"t{i}") for i in range(8)], [slot("r0"), slot("r1")], {}, {"command"},
     ["t0", "t1", "t2"]),
    ([slot("a", "claude"), slot("b", "claude"), slot("c")], [], {"claude": 1},
     {"claude", "command"}, ["a", "c"]),
    ([slot("a", "claude"), slot("b")], [], {}, {"command"}, ["b"]),
    ([slot("a", owns=("/p/x.py",)), slot("b", owns=("/p/x.py",)), slot("c", owns=("/p/y.py",))],
     [], {}, {"command"}, ["a", "c"]),
    ([slot("a", owns=("/p/src/x.py",))], [slot("r", owns=("/p/src/**",))], {}, {"command"}, []),
    ([slot("a"), slot("b")], [slot("r", owns=("/p/**",))], {}, {"command"}, ["a", "b"]),
    ([slot(f"t{i}") for i in range(3)], [slot(f"r{i}") for i in range(5)], {}, {"command"}, []),
])
def test_admit(queued: list[Slot], running: list[Slot], caps: dict[str, int], usable: set[str],
               expected: list[str]) -> None:
    assert admit(queued, running, max_parallel=5, caps=caps, usable=usable) == expected


@pytest.mark.parametrize(("context", "limit", "to_file"), [
    ("", 500, False), ("x" * 500, 500, False), ("x" * 501, 500, True), ("x" * 11, 10, True),
])
def test_lazy_context_threshold(context: str, limit: int, to_file: bool) -> None:
    assert needs_file(context, inline_limit=limit) is to_file


def test_compose_inlines_or_points_at_the_file() -> None:
    assert compose("do it", "", context_file=None) == "do it"
    assert "<context>\nabc\n</context>" in compose("do it", "abc", context_file=None)
    pointed = compose("do it", "abc", context_file="/s/context/t.md")
    assert "/s/context/t.md" in pointed
    assert "abc" not in pointed


@pytest.mark.parametrize(("intervals", "cap", "expected"), [
    ([], 5, None),
    ([(0.0, 1.0)] * 3, 5, 1.0),
    ([(0.0, 1.0)] * 5 + [(1.0, 2.0)] * 5, 5, 1.0),
    ([(0.0, 1.0), (0.0, 1.0), (1.0, 2.0)], 2, 0.75),
    ([(0.0, 1.0), (0.5, 1.5)], 2, 2 / 3),
    # three tasks started within 25 ms under a cap of 5: only the 25 ms are lost
    ([(0.0, 0.5), (0.025, 1.025), (0.01, 0.11)], 5, 1.0 / 1.025),
])
def test_parallel_efficiency(intervals: list[tuple[float, float]], cap: int,
                             expected: float | None) -> None:
    assert parallel_efficiency(intervals, cap=cap) == (
        expected if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(("intervals", "peak"), [
    ([], 0), ([(0, 1), (1, 2)], 1), ([(0, 2), (1, 3), (1.5, 4)], 3), ([(0, 1)] * 4, 4),
])
def test_peak_concurrency(intervals: list[tuple[float, float]], peak: int) -> None:
    assert peak_concurrency(intervals) == peak


OK_RESULT = {"type": "result", "subtype": "success", "is_error": False,
             "terminal_reason": "completed", "api_error_status": None, "result": "done"}


@pytest.mark.parametrize(("result", "exit_code", "clean", "says"), [
    (OK_RESULT, 0, True, ""),
    (None, 0, False, "no result event"),
    ({**OK_RESULT, "is_error": True, "terminal_reason": "api_error", "api_error_status": 500},
     1, False, "api_error_status=500"),
    ({**OK_RESULT, "api_error_status": 429}, 0, False, "429"),
    ({**OK_RESULT, "terminal_reason": "max_turns", "subtype": "error_max_turns"}, 1, False,
     "max_turns"),
    ({**OK_RESULT, "terminal_reason": "hook_stopped"}, 0, False, "hook_stopped"),
    ({**OK_RESULT, "subtype": "error_during_execution"}, 0, True, ""),
    (OK_RESULT, -9, False, "signal 9"),
])
def test_claude_result_is_judged_by_is_error_terminal_reason_and_status_not_subtype(
        result: dict[str, Any] | None, exit_code: int, clean: bool, says: str) -> None:
    end = judge_result(result, exit_code)
    assert end.clean is clean
    assert says in end.reason


def test_denied_tool_calls_are_counted_from_the_result_event() -> None:
    denials = [{"tool_name": "Write", "tool_use_id": "t1", "tool_input": {}}]
    assert judge_result({**OK_RESULT, "permission_denials": denials}, 0).denials == 1
    assert judge_result(OK_RESULT, 0).denials == 0


def test_the_summary_table_shows_the_time_each_task_waited() -> None:
    table = summary_table([
        {"id": "t1", "status": "failed", "duration_s": 0.0, "queued_s": 600.04,
         "reason": "backend down"},
        {"id": "t2", "status": "succeeded", "duration_s": 2.26, "queued_s": 0.001,
         "reason": "ended cleanly"},
        {"id": "t3", "status": "failed", "reason": "no result"}])
    rows = [line.split() for line in table.splitlines()]
    assert rows[0] == ["TASK", "STATUS", "QUEUED", "SECONDS", "LOG", "REASON"]
    assert [row[:4] for row in rows[1:4]] == [["t1", "failed", "600.0", "0.0"],
                                             ["t2", "succeeded", "0.0", "2.3"],
                                             ["t3", "failed", "0.0", "0.0"]]


def test_the_summary_table_keeps_whole_reasons_and_gives_log_paths() -> None:
    reason = "worker exited with code 3; " + "stderr said: " + "x" * 150
    table = summary_table([
        {"id": "t1", "status": "failed", "reason": reason,
         "log": "/p/.swarm/logs/t1.stream.txt"},
        {"id": "t2", "status": "failed", "reason": "no result"}], base="/p")
    row1, row2 = table.splitlines()[1:3]
    assert row1.endswith(reason)
    assert row1.split()[4] == ".swarm/logs/t1.stream.txt"
    assert row2.split()[4] == "-"


def test_unreachable_api_is_flagged_for_the_circuit_breaker() -> None:
    result = {**OK_RESULT, "is_error": True, "terminal_reason": "api_error",
              "api_error": "connection_failed"}
    assert judge_result(result, 1).unreachable
    assert not judge_result(OK_RESULT, 0).unreachable
