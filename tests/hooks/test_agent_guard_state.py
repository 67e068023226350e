"""The agent guard's state file: format, lock, corruption, bounds and housekeeping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.hooks import agent_guard_rule as rule
from hookswarm.hooks import agent_guard_state as state
from hookswarm.hooks.agent_guard_rule import Message, Session, Thread
from hookswarm.hooks.evidence_rule import Claim, Evidence, Mark

if TYPE_CHECKING:
    from pathlib import Path

NOW = 1_800_000_000.0


def never(text: str) -> None:
    raise AssertionError(f"unexpected note: {text}")


def record_spawn(session: Session) -> tuple[Session, int]:
    thread, _ = rule.spawn(session.get(rule.MAIN), rule.Spawn("a", False))
    return session.put(rule.MAIN, thread), thread.pending


def test_json_round_trip() -> None:
    session = Session(7, {"main": Thread(3, "p1", 3, 2, Message(1, 0, 3, ("a",)), 9, 8, 7),
                          "a7f0": Thread()})
    encoded = json.loads(json.dumps(state.to_json(session)))
    assert state.from_json(encoded) == session


EVIDENCE = Evidence(
    {"toolu_1": Claim("toolu_1", "main", "write calc", ("calc.py", "b.py"),
                      (Mark("/p/calc.py"), Mark("/p/b.py", True, 3, 10**18, 10**18 + 1, 42)),
                      "d1", "ag1", 1, 5)},
    {"main": ("agent 'x' verified: 1/1 files",)})


def test_json_round_trip_with_evidence() -> None:
    session = Session(7, {"main": Thread()}, EVIDENCE)
    encoded = json.loads(json.dumps(state.to_json(session)))
    assert state.from_json(encoded) == session


def test_a_state_without_evidence_writes_none_and_reads_empty() -> None:
    encoded = state.to_json(Session(1, {"main": Thread()}))
    assert "evidence" not in encoded
    assert state.from_json(encoded).evidence == Evidence()


def test_the_agent_guards_changes_keep_the_evidence() -> None:
    session = Session(0, {}, EVIDENCE)
    assert session.put(rule.MAIN, Thread()).evidence == EVIDENCE


def _with_evidence(**change: Any) -> dict[str, Any]:
    data = state.to_json(Session(0, {}, EVIDENCE))
    claim = data["evidence"]["claims"]["toolu_1"]
    for key, value in change.items():
        (claim if key in claim else data["evidence"])[key] = value
    return data


# What from_json says of a file that is not its own format: one of its own reasons, never a
# stray ValueError from elsewhere.
MALFORMED = r"not a version-|is not |differ in length|holds no "


@pytest.mark.parametrize("data", [
    {"version": 1, "seq": 0, "threads": {}, "evidence": []},
    {"version": 1, "seq": 0, "threads": {}, "evidence": {"claims": [], "notes": {}}},
    _with_evidence(notes={"main": "text"}),
    _with_evidence(paths=["calc.py"]),
    _with_evidence(before=[["/p", 1, 0, 0, 0, 0], ["/p", True, 0, 0, 0, 0]]),
    _with_evidence(before=[["/p", True, 0, 0, 0], ["/p", True, 0, 0, 0, 0]]),
    _with_evidence(before=[["/p", True, 0, -1, 0, 0], ["/p", True, 0, 0, 0, 0]]),
    _with_evidence(blocks=-1),
    _with_evidence(agent_id=None),
    _with_evidence(before="no"),
])
def test_from_json_rejects_malformed_evidence(data: Any) -> None:
    with pytest.raises(ValueError, match=MALFORMED):
        state.from_json(data)


@pytest.mark.parametrize("data", [
    None, [], "text", {"version": 2, "seq": 0, "threads": {}},
    {"version": 1, "seq": -1, "threads": {}},
    {"version": 1, "seq": 0, "threads": []},
    {"version": 1, "seq": 0, "threads": {"main": []}},
    {"version": 1, "seq": 0, "threads": {"main": {"epoch": "1"}}},
    {"version": 1, "seq": True, "threads": {}},
    {"version": 1, "seq": 0, "threads": {"main": {**state._thread_json(Thread()), "last": 3}}},
    {"version": 1, "seq": 0, "threads": {"main": {**state._thread_json(Thread()),
                                                  "last": {"background": 1, "foreground": 0,
                                                           "epoch": 0, "names": [1]}}}},
])
def test_from_json_rejects_anything_but_its_own_format(data: Any) -> None:
    with pytest.raises(ValueError, match=MALFORMED):
        state.from_json(data)


@pytest.mark.parametrize(("session_id", "name"), [
    ("cd0a2f3e-5b1c-4d7e-9f00-1234567890ab", "cd0a2f3e-5b1c-4d7e-9f00-1234567890ab"),
    ("../../etc/passwd", "______etc_passwd"),
    ("", ""),
    (None, ""),
    (42, ""),
])
def test_session_name_is_safe_as_a_file_name(session_id: object, name: str) -> None:
    assert state.session_name(session_id) == name


def test_update_creates_the_file_and_returns_the_change_result(tmp_path: Path) -> None:
    directory = str(tmp_path / ".swarm" / "guard")
    assert state.update(directory, "s1", record_spawn, note=never, now=NOW) == 1
    assert state.update(directory, "s1", record_spawn, note=never, now=NOW) == 2
    assert state.peek(directory, "s1") == state.from_json(
        json.loads((tmp_path / ".swarm" / "guard" / "s1.json").read_text()))


DEEP = "[" * 100_000 + "]" * 100_000  # JSON nested past the parser's depth


@pytest.mark.parametrize("content", ["{not json", DEEP])
def test_peek_is_empty_when_missing_and_none_when_corrupt(tmp_path: Path, content: str) -> None:
    assert state.peek(str(tmp_path), "s1") == Session()
    (tmp_path / "s1.json").write_text(content)
    assert state.peek(str(tmp_path), "s1") is None


@pytest.mark.parametrize("content", ["{truncated", '{"version": 1}', "[]", "", DEEP])
def test_a_corrupt_file_is_reported_once_and_replaced(tmp_path: Path, content: str) -> None:
    (tmp_path / "s1.json").write_text(content)
    notes: list[str] = []
    assert state.update(str(tmp_path), "s1", record_spawn, note=notes.append, now=NOW) == 1
    assert len(notes) == 1
    assert "corrupt" in notes[0]
    assert "s1.json" in notes[0]
    assert state.update(str(tmp_path), "s1", record_spawn, note=never, now=NOW) == 2


def test_an_unusable_directory_raises_state_unavailable(tmp_path: Path) -> None:
    (tmp_path / "guard").write_text("a file where the directory should be")
    with pytest.raises(state.StateUnavailable, match="cannot use"):
        state.update(str(tmp_path / "guard"), "s1", record_spawn, note=never, now=NOW)


def test_the_change_runs_while_the_lock_is_held(tmp_path: Path) -> None:
    lock = str(tmp_path / "s1.lock")

    def change(session: Session) -> tuple[Session, str]:
        with pytest.raises(state.StateUnavailable, match="stayed locked"), \
                state.locked(lock, timeout=0):
            pass
        return session, "checked"

    assert state.update(str(tmp_path), "s1", change, note=never, now=NOW) == "checked"
    with state.locked(lock, timeout=0):
        pass


def test_a_held_lock_times_out(tmp_path: Path) -> None:
    with state.locked(str(tmp_path / "s1.lock"), timeout=0), \
            pytest.raises(state.StateUnavailable, match=r"stayed locked for 0\.01 s"):
        state.update(str(tmp_path), "s1", record_spawn, note=never, now=NOW, timeout=0.01)


def test_ten_concurrent_invocations_lose_no_update(tmp_path: Path) -> None:
    payload = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Agent",
                          "session_id": "s1", "prompt_id": "p1", "cwd": str(tmp_path),
                          "tool_input": {"description": "a", "prompt": "go"}})
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(tmp_path)}
    env.pop("HOOKSWARM_AGENT_GUARD", None)
    # Every process is started before any gets its payload: they all block on stdin, then run
    # the read-modify-write together.
    children = [subprocess.Popen([sys.executable, "-m", "hookswarm.hooks.agent_guard"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, text=True)
                for _ in range(10)]
    for child in children:
        assert child.stdin is not None
        child.stdin.write(payload)
        child.stdin.close()
    outputs = [_finish(child) for child in children]
    assert [child.returncode for child in children] == [0] * 10, outputs
    assert all(out == ("", "") for out in outputs), outputs
    thread = state.peek(str(tmp_path / ".swarm" / "guard"), "s1")
    assert thread is not None
    assert (thread.get(rule.MAIN).pending, thread.get(rule.MAIN).requested) == (10, 10)


def _finish(child: subprocess.Popen[str]) -> tuple[str, str]:
    assert child.stdout is not None
    assert child.stderr is not None
    output = child.stdout.read(), child.stderr.read()
    child.wait(timeout=30)
    return output


def test_ten_thousand_spawns_keep_the_file_small(tmp_path: Path) -> None:
    session = Session()
    for index in range(10_000):
        key = f"agent-{index % 500}"
        thread, _ = rule.spawn(session.get(key), rule.Spawn("d" * 200, False))
        thread = rule.finish_message(thread, [rule.Outcome(rule.BACKGROUND, "d" * 200)])
        session = session.put(key, thread)
    state.update(str(tmp_path), "s1", lambda _: (session, None), note=never, now=NOW)
    assert len(session.threads) == rule.MAX_THREADS
    assert (tmp_path / "s1.json").stat().st_size < 32_000


@pytest.mark.parametrize(("mtimes", "doomed"), [
    ({}, []),
    ({"new": NOW - 10, "old": NOW - state.MAX_AGE - 1}, ["old"]),
    ({"keep": NOW - state.MAX_AGE - 1}, []),
    ({"edge": NOW - state.MAX_AGE}, []),
])
def test_stale_sessions_by_age(mtimes: dict[str, float], doomed: list[str]) -> None:
    assert state.stale_sessions(mtimes, now=NOW, keep="keep") == doomed


def test_stale_sessions_beyond_the_newest_ones() -> None:
    mtimes = {f"s{i}": NOW - i for i in range(5)}
    assert state.stale_sessions(mtimes, now=NOW, keep="s4", max_sessions=2) == ["s2", "s3"]


def test_a_new_session_sweeps_old_ones_but_not_locked_ones(tmp_path: Path) -> None:
    old = NOW - state.MAX_AGE - 60
    for name in ("old", "busy"):
        for suffix in (".json", ".lock"):
            path = tmp_path / f"{name}{suffix}"
            path.write_text("{}")
            os.utime(path, (old, old))
    with state.locked(str(tmp_path / "busy.lock"), timeout=0):
        state.update(str(tmp_path), "fresh", record_spawn, note=never, now=NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "busy.json", "busy.lock", "fresh.json", "fresh.lock"]


def test_an_existing_session_does_not_sweep(tmp_path: Path) -> None:
    state.update(str(tmp_path), "s1", record_spawn, note=never, now=NOW)
    old = tmp_path / "old.json"
    old.write_text("{}")
    os.utime(old, (0, 0))
    state.update(str(tmp_path), "s1", record_spawn, note=never, now=NOW)
    assert old.exists()
