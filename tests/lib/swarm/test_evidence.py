"""Evidence: how a finished task is judged from its end and its files."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.evidence import Ending, FileFact, Status, Stop, verdict

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
